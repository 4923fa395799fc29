"""Trading's projection of the registry's organisations, fed only by the registry's events.

Trading never asks the registry: what it needs to decide who may list patents it keeps here. Each
snapshot event is applied once (idempotent consumer) and only if it is newer than what we hold, so a
redelivered or late, older snapshot changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from servicekit.consumer import EventHandlers
from servicekit.events.envelope import EVENT_TYPE_PREFIX, CloudEvent, ConsumedPayload
from servicekit.mongo import Database, Document, IndexSpec, apply_once

COLLECTION = "organisations"
REGISTRY_TOPIC = "registry.events"

INDEXES: tuple[IndexSpec, ...] = ()  # every read is by `_id`


class OrganisationSnapshotV1(ConsumedPayload):
    """What trading reads of the registry's organisation snapshot events (tolerant reader)."""

    organisation_id: str
    name: str
    kind: str
    region_code: str
    status: str
    version: int


class OrganisationRegisteredV1(OrganisationSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.organisation.registered.v1"


class OrganisationUpdatedV1(OrganisationSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.organisation.updated.v1"


def may_list_patents(organisation: Document | None) -> bool:
    """Only organisations the registry knows and holds active may list patents."""
    return organisation is not None and organisation.get("status") == "active"


def register_handlers(handlers: EventHandlers) -> None:
    """Subscribe the projection to the registry's organisation events."""

    async def apply_snapshot(db: Database, event: CloudEvent, payload: OrganisationSnapshotV1) -> bool:
        return await apply_once(
            db[COLLECTION], payload.organisation_id, event.id,
            {"$set": {"name": payload.name, "kind": payload.kind, "region_code": payload.region_code,
                      "status": payload.status, "version": payload.version,
                      "projected_at": datetime.now(UTC)}},
            newer_than=("version", payload.version),
            likely_new=isinstance(payload, OrganisationRegisteredV1),  # one store command, not two
        )

    handlers.on(REGISTRY_TOPIC, OrganisationRegisteredV1)(apply_snapshot)
    handlers.on(REGISTRY_TOPIC, OrganisationUpdatedV1)(apply_snapshot)
