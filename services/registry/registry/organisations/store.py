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
INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint",
                   "applied_events")


class DuplicateOrganisation(Exception):
    """The insert collided. `same_request` is the document an earlier request with the same
    idempotency key created (None when the collision is with someone else's organisation)."""

    def __init__(self, same_request: Document | None) -> None:
        self.same_request = same_request


async def insert(collection: Collection, document: Document, events: Sequence[CloudEvent]) -> None:
    try:
        await collection.insert_one({**document, **initial_outbox_fields(events)})
    except DuplicateKeyError as exc:
        # Which unique index fired first is the server's choice, so look the key up either way.
        earlier = await collection.find_one({"creation_key": document["creation_key"]})
        raise DuplicateOrganisation(earlier) from exc


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
