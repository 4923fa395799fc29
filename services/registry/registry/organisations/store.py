"""Store access for organisations: the one place that knows their document shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Collection, Document, IndexSpec
from servicekit.outbox import initial_outbox_fields, merge_updates, outbox_update

COLLECTION = "organisations"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
    IndexSpec(COLLECTION, (("kind", 1), ("_id", 1))),
    IndexSpec(COLLECTION, (("region_code", 1), ("_id", 1))),
)

# Never returned to callers: bookkeeping of the outbox, idempotency and consumers.
INTERNAL_FIELDS = ("outbox", "outbox_count", "outbox_since", "creation_key", "creation_fingerprint",
                   "applied_events")


class DuplicateOrganisation(Exception):
    def __init__(self, existing: Document | None, by_creation_key: bool) -> None:
        self.existing = existing
        self.by_creation_key = by_creation_key


async def insert(collection: Collection, document: Document, events: Sequence[CloudEvent]) -> None:
    try:
        await collection.insert_one({**document, **initial_outbox_fields(events)})
    except DuplicateKeyError as exc:
        by_key = "creation_key" in str(exc)
        query = {"creation_key": document["creation_key"]} if by_key else {"_id": document["_id"]}
        raise DuplicateOrganisation(await collection.find_one(query), by_key) from exc


async def get(collection: Collection, organisation_id: str) -> Document | None:
    return await collection.find_one({"_id": organisation_id}, {f: 0 for f in INTERNAL_FIELDS})


async def update(collection: Collection, organisation_id: str, expected_version: int, changes: dict[str, Any],
                 events: Sequence[CloudEvent]) -> bool:
    """Apply `changes` if the document is still at `expected_version`; False when it is not."""
    result = await collection.update_one(
        {"_id": organisation_id, "version": expected_version},
        merge_updates({"$set": changes, "$inc": {"version": 1}}, outbox_update(events)),
    )
    return result.modified_count == 1


async def page(collection: Collection, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    query = dict(filters)
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = collection.find(query, {f: 0 for f in INTERNAL_FIELDS}).sort("_id", 1).limit(limit)
    return [doc async for doc in cursor]
