"""Store access for transfers: the one place that knows their document shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec
from servicekit.outbox import merge_updates, outbox_update

COLLECTION = "transfers"

INDEXES = (IndexSpec(COLLECTION, (("parties", 1), ("_id", 1))),
           IndexSpec(COLLECTION, (("fair_id", 1), ("_id", 1))))

INTERNAL_FIELDS = ("outbox", "action_keys")


async def insert(db: Database, document: Document) -> bool:
    """False when it already exists (a retried signing)."""
    try:
        await db[COLLECTION].insert_one(document)
    except DuplicateKeyError:
        return False
    return True


async def get(db: Database, transfer_id: str, *, with_keys: bool = False) -> Document | None:
    hidden = [f for f in INTERNAL_FIELDS if not (with_keys and f == "action_keys")]
    return await db[COLLECTION].find_one({"_id": transfer_id}, {f: 0 for f in hidden})


async def update(db: Database, transfer_id: str, expected_version: int, changes: dict[str, Any],
                 events: Sequence[CloudEvent]) -> bool:
    result = await db[COLLECTION].update_one(
        {"_id": transfer_id, "version": expected_version},
        merge_updates({"$set": changes, "$inc": {"version": 1}}, outbox_update(events)))
    return result.modified_count == 1
