"""Integration events trading publishes about licences (topic trading.events, key = licence id)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import Field
from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class LicenceSigned(EventPayload):
    """A patent licence was signed (an accepted offer became a contract); `fair_id` when at a fair."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.licence.signed.v1"

    licence_id: str
    negotiation_id: str
    listing_id: str
    application_number: str
    patent_title: str
    licence_type: str
    licensor_organisation_id: str
    licensee_organisation_id: str
    fields_of_use: list[str]
    territories: list[str]
    term_start: date
    term_end: date
    upfront_fee_fen: int
    royalty_rate_percent: Decimal
    agent_talent_id: str | None
    signed_on: date
    recordal_deadline: date
    fair_id: str | None
    occurred_at: datetime
    publicity_consent: bool | None = Field(
        default=None, description="Both parties agreed to be named, with the amount, in the IPO's publicity")


class LicenceRecorded(EventPayload):
    """The national office recorded the licence contract."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.licence.recorded.v1"

    licence_id: str
    application_number: str
    licence_type: str
    licensor_organisation_id: str
    licensee_organisation_id: str
    recordal_reference: str | None
    recorded_on: date
    fair_id: str | None
    occurred_at: datetime
