"""Integration events publicity publishes about releases (topic publicity.events, key = release id).
No personal data: what the public can read anyway, once published."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class ReleasePublished(EventPayload):
    """An edition of a press release or news item became public (first edition, or a new edition
    superseding the previous one)."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.publicity.release.published.v1"

    release_id: str
    kind: str
    edition: int
    title: str
    title_en: str | None = None
    campaign_id: str | None = None
    forced: bool
    scheduled_for: datetime | None = None
    published_at: datetime


class ReleaseWithdrawn(EventPayload):
    """A published release was withdrawn; its page stays with the public explanation."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.publicity.release.withdrawn.v1"

    release_id: str
    kind: str
    edition: int
    explanation: str
    withdrawn_at: datetime
