"""Integration events trading publishes about fairs (topic trading.events, key = fair id)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class FairEvent(EventPayload):
    fair_id: str
    name: str
    venue: str
    region_code: str
    starts_on: date
    ends_on: date
    occurred_at: datetime


class FairOpened(FairEvent):
    """A fair opened: deals negotiated there from now on count toward its statistics."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.fair.opened.v1"


class FairClosed(FairEvent):
    """A fair closed, with its final figures."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.fair.closed.v1"

    listings_shown: int
    offers: int
    licences: int
    transfers: int
    pledges: int
    total_amount_fen: int
