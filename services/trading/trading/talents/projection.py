"""Trading's projection of the registry's talents, fed only by the registry's talent events.

Trading needs to know one thing about talents: whether one may be named as the agent on a deal (an
active talent in the patent agency or IP services category). It never asks the registry; it keeps
the public snapshot each talent event carries. Every event is applied once (effect and applied-marker
in one single-document update) and only when it is newer than what we hold (`version`), so a
redelivered or late, older snapshot changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from servicekit.consumer import EventHandlers
from servicekit.events.envelope import EVENT_TYPE_PREFIX, CloudEvent, ConsumedPayload
from servicekit.mongo import Database, Document, IndexSpec, apply_once

COLLECTION = "talents"
REGISTRY_TOPIC = "registry.events"

INDEXES: tuple[IndexSpec, ...] = ()  # every read is by `_id`

# Categories whose talents may act as the agent named on a deal.
AGENT_CATEGORIES = frozenset({"patent_agency", "ip_services"})
ACTIVE = "active"


class TalentSnapshotV1(ConsumedPayload):
    """What trading reads of the registry's talent snapshot events (tolerant reader)."""

    talent_id: str
    registration_number: str
    name: str
    employer_organisation_id: str
    region_code: str
    categories: list[str]
    level: str | None
    status: str
    version: int
    occurred_at: datetime


class TalentRegisteredV1(TalentSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.registered.v1"


class TalentUpdatedV1(TalentSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.updated.v1"


class TalentStatusChangedV1(TalentSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.status_changed.v1"

    reason: str


class TalentCertifiedV1(TalentSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.certified.v1"

    certified_level: str
    certified_category: str
    certificate_number: str


def agent_refusal(talent: Document | None, talent_id: str) -> str | None:
    """Why this talent may not be named as a deal's agent (None when it may)."""
    if talent is None:
        return f"trading knows no talent {talent_id} (the registry has not announced it)"
    if talent.get("status") != ACTIVE:
        return f"talent {talent_id} is {talent.get('status')}, not active"
    if not AGENT_CATEGORIES & set(talent.get("categories", ())):
        return f"talent {talent_id} is neither a patent agent nor an IP service talent"
    return None


async def get(db: Database, talent_id: str) -> Document | None:
    return await db[COLLECTION].find_one({"_id": talent_id}, {"applied_events": 0})


def register_handlers(handlers: EventHandlers) -> None:
    """Subscribe the projection to the registry's talent events."""

    async def apply_snapshot(db: Database, event: CloudEvent, payload: TalentSnapshotV1) -> bool:
        return await apply_once(
            db[COLLECTION], payload.talent_id, event.id,
            {"$set": {"registration_number": payload.registration_number, "name": payload.name,
                      "employer_organisation_id": payload.employer_organisation_id,
                      "region_code": payload.region_code, "categories": list(payload.categories),
                      "level": payload.level, "status": payload.status, "version": payload.version,
                      "occurred_at": payload.occurred_at, "projected_at": datetime.now(UTC)}},
            newer_than=("version", payload.version),
            likely_new=isinstance(payload, TalentRegisteredV1),  # one store command, not two
        )

    for payload_type in (TalentRegisteredV1, TalentUpdatedV1, TalentStatusChangedV1, TalentCertifiedV1):
        handlers.on(REGISTRY_TOPIC, payload_type)(apply_snapshot)
