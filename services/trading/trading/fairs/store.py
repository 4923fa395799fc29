"""Store access for fairs: the one place that knows their document shape.

Exhibitors and shown listings are maps keyed by organisation and listing id, so adding one twice
changes nothing and no list needs `$pull`/`$addToSet` semantics FerretDB 1.x lacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec
from servicekit.outbox import initial_outbox_fields, merge_updates, outbox_update

COLLECTION = "fairs"

INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
           IndexSpec(COLLECTION, (("status", 1), ("_id", 1))))

INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint", "action_keys")


class DuplicateFair(Exception):
    def __init__(self, earlier: Document | None) -> None:
        self.earlier = earlier


async def insert(db: Database, document: Document) -> None:
    try:
        await db[COLLECTION].insert_one({**document, **initial_outbox_fields([])})
    except DuplicateKeyError as exc:
        raise DuplicateFair(await db[COLLECTION].find_one({"creation_key": document["creation_key"]})) from exc


async def get(db: Database, fair_id: str, *, with_keys: bool = False) -> Document | None:
    hidden = [f for f in INTERNAL_FIELDS if not (with_keys and f == "action_keys")]
    return await db[COLLECTION].find_one({"_id": fair_id}, {f: 0 for f in hidden})


async def update(db: Database, fair_id: str, expected_version: int, changes: dict[str, Any],
                 events: Sequence[CloudEvent] = ()) -> bool:
    result = await db[COLLECTION].update_one(
        {"_id": fair_id, "version": expected_version},
        merge_updates({"$set": changes, "$inc": {"version": 1}}, outbox_update(events)))
    return result.modified_count == 1


async def page(db: Database, status: str | None, after: str | None, limit: int) -> list[Document]:
    query: dict[str, Any] = {}
    if status:
        query["status"] = status
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = db[COLLECTION].find(query, {f: 0 for f in INTERNAL_FIELDS}).sort("_id", 1).limit(limit)
    return [d async for d in cursor]


async def all_ids(db: Database, limit: int = 200) -> list[str]:
    cursor = db[COLLECTION].find({}, {"_id": 1}).sort("_id", -1).limit(limit)
    return [d["_id"] async for d in cursor]
