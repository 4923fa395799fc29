"""Integration events publicity publishes about public events (topic publicity.events, key = event id).
Counts only: registrants' contact data never leaves the service."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class RegistrationCountsChanged(EventPayload):
    """A registration, cancellation or promotion changed an event's counts."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.publicity.event.registration_counts.v1"

    event_id: str
    campaign_id: str | None = None
    capacity: int
    confirmed_places: int
    waitlisted_places: int
    registrations: int
    occurred_at: datetime
