"""Integration events training publishes about sessions (topic training.events, key = session id).
Public details only (a session is public to read); no enrolment appears."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class SessionScheduled(EventPayload):
    """A session of a course was scheduled (publicity lists sessions inside a campaign's dates)."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.training.session.scheduled.v1"

    session_id: str
    course_id: str
    course_title: str
    training_base_id: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    capacity: int
    occurred_at: datetime


class SessionUpdated(EventPayload):
    """A session's public details changed (dates, venue, capacity): its snapshot after the change, with the
    session's version, so a consumer keeps the newest (publicity moves it in or out of a campaign)."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.training.session.updated.v1"

    session_id: str
    course_id: str
    course_title: str
    training_base_id: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    capacity: int
    version: int
    occurred_at: datetime
