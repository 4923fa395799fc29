"""Store access for pledges: the one place that knows their document shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec
from servicekit.outbox import merge_updates, outbox_update

COLLECTION = "pledges"

INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
           IndexSpec(COLLECTION, (("parties", 1), ("_id", 1))),
           IndexSpec(COLLECTION, (("status", 1), ("_id", 1))),
           IndexSpec(COLLECTION, (("fair_id", 1), ("_id", 1))))

INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint", "action_keys")


class DuplicatePledge(Exception):
    def __init__(self, earlier: Document | None) -> None:
        self.earlier = earlier


async def insert(db: Database, document: Document) -> None:
    try:
        await db[COLLECTION].insert_one(document)
    except DuplicateKeyError as exc:
        raise DuplicatePledge(await db[COLLECTION].find_one({"creation_key": document["creation_key"]})) from exc


async def get(db: Database, pledge_id: str, *, with_keys: bool = False) -> Document | None:
    hidden = [f for f in INTERNAL_FIELDS if not (with_keys and f == "action_keys")]
    return await db[COLLECTION].find_one({"_id": pledge_id}, {f: 0 for f in hidden})


async def update(db: Database, pledge_id: str, expected_version: int, changes: dict[str, Any],
                 events: Sequence[CloudEvent] = ()) -> bool:
    result = await db[COLLECTION].update_one(
        {"_id": pledge_id, "version": expected_version},
        merge_updates({"$set": changes, "$inc": {"version": 1}}, outbox_update(events)))
    return result.modified_count == 1


async def active_totals(db: Database) -> tuple[int, int]:
    """How many pledges are in force, and the amount they secure (fen). Summed here: FerretDB 1.24
    answers 0 for `$group` with `$sum: "$field"`."""
    count = amount = 0
    async for doc in db[COLLECTION].find({"status": "registered"}, {"amount_fen": 1}):
        count += 1
        amount += int(doc["amount_fen"])
    return count, amount
