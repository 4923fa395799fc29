"""Store access for demands: the one place that knows their document shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec
from servicekit.outbox import initial_outbox_fields, merge_updates, outbox_update

from trading.demands.domain import DemandStatus

COLLECTION = "demands"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
    IndexSpec(COLLECTION, (("organisation_id", 1), ("_id", 1))),
)

INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint")


class DuplicateDemand(Exception):
    def __init__(self, earlier: Document | None) -> None:
        self.earlier = earlier


async def insert(db: Database, document: Document, events: Sequence[CloudEvent]) -> None:
    try:
        await db[COLLECTION].insert_one({**document, **initial_outbox_fields(events)})
    except DuplicateKeyError as exc:
        raise DuplicateDemand(await db[COLLECTION].find_one({"creation_key": document["creation_key"]})) from exc


async def get(db: Database, demand_id: str) -> Document | None:
    return await db[COLLECTION].find_one({"_id": demand_id}, {f: 0 for f in INTERNAL_FIELDS})


async def update(db: Database, demand_id: str, expected_version: int, changes: dict[str, Any]) -> bool:
    result = await db[COLLECTION].update_one({"_id": demand_id, "version": expected_version},
                                             merge_updates({"$set": changes, "$inc": {"version": 1}},
                                                           outbox_update(())))
    return result.modified_count == 1


async def by_organisation(db: Database, organisation_id: str, limit: int = 200) -> list[Document]:
    cursor = db[COLLECTION].find({"organisation_id": organisation_id},
                                 {f: 0 for f in INTERNAL_FIELDS}).sort("_id", 1).limit(limit)
    return [d async for d in cursor]


async def open_demands(db: Database) -> list[Document]:
    """Every open demand (a scan: matchmaking runs in the worker, off the request path)."""
    cursor = db[COLLECTION].find({"status": DemandStatus.OPEN.value}, {f: 0 for f in INTERNAL_FIELDS})
    return [d async for d in cursor]
