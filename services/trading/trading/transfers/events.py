"""Integration events trading publishes about transfers (topic trading.events, key = transfer id)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import Field
from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class TransferRegistered(EventPayload):
    """An assignment was registered and took effect: the patent has a new owner."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.transfer.registered.v1"

    transfer_id: str
    negotiation_id: str
    listing_id: str
    application_number: str
    patent_title: str
    assignor_organisation_id: str
    assignee_organisation_id: str
    price_fen: int
    registered_on: date
    fair_id: str | None
    occurred_at: datetime
    publicity_consent: bool | None = Field(
        default=None, description="Both parties agreed to be named, with the price, in the IPO's publicity")
