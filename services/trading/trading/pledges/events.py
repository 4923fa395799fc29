"""Integration events trading publishes about pledges (topic trading.events, key = pledge id)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class PledgeEvent(EventPayload):
    pledge_id: str
    listing_id: str
    application_number: str
    patent_title: str
    pledgor_organisation_id: str
    pledgee_organisation_id: str
    amount_fen: int
    fair_id: str | None
    occurred_at: datetime


class PledgeRegistered(PledgeEvent):
    """A patent pledge was registered and took effect (every co-owner had consented)."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.pledge.registered.v1"

    registered_on: date


class PledgeReleased(PledgeEvent):
    """A registered pledge was released; the patent may be transferred again."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.pledge.released.v1"

    released_on: date
