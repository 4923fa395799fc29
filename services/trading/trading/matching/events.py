"""Integration events about match suggestions (trading.events)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class MatchSuggested(EventPayload):
    """The worker found that a published listing may answer an open demand; both parties can see it."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.match.suggested.v1"

    match_id: str
    listing_id: str
    demand_id: str
    listing_owner_organisation_id: str
    demand_organisation_id: str
    score: int
    reasons: list[str]
    occurred_at: datetime
