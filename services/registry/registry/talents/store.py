"""Store access for talents: the one place that knows their document shape.

A talent's `_id` is its registration number. `identity_hash` (HMAC of the identity number) has a
unique index, so one person is registered once; `creation_key` makes a retried POST idempotent.
Both are bookkeeping and never leave this module in a read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Collection, Document, IndexSpec
from servicekit.outbox import initial_outbox_fields, merge_updates, outbox_update

COLLECTION = "talents"

INDEXES = (
    IndexSpec(COLLECTION, (("identity_hash", 1),), unique=True),
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
    IndexSpec(COLLECTION, (("city_code", 1), ("_id", 1))),
    IndexSpec(COLLECTION, (("employer_organisation_id", 1), ("_id", 1))),
)

INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint", "identity_hash", "applied_events")
HIDDEN = {f: 0 for f in INTERNAL_FIELDS}

# The few fields the target and pool tallies need.
TALLY_FIELDS = {"status": 1, "region_code": 1, "categories": 1, "level": 1, "certifications": 1,
                "employer_kind": 1}


class DuplicateTalent(Exception):
    """The insert collided with an existing document: `same_request` is the one an earlier request
    with this idempotency key created, `same_person` the one with this identity hash; both None
    means the registration number itself was taken (retry with the next number)."""

    def __init__(self, same_request: Document | None, same_person: Document | None) -> None:
        self.same_request = same_request
        self.same_person = same_person


async def insert(collection: Collection, document: Document, events: Sequence[CloudEvent]) -> None:
    try:
        await collection.insert_one({**document, **initial_outbox_fields(events)})
    except DuplicateKeyError as exc:
        # Which unique index fired is the server's choice: look each key up (a rare path; these
        # filters scan on FerretDB).
        earlier = await collection.find_one({"creation_key": document["creation_key"]}, {"_id": 1,
                                            "creation_fingerprint": 1})
        person = await collection.find_one({"identity_hash": document["identity_hash"]}, {"_id": 1})
        raise DuplicateTalent(earlier, person) from exc


async def get(collection: Collection, talent_id: str) -> Document | None:
    return await collection.find_one({"_id": talent_id}, HIDDEN)


async def update(collection: Collection, talent_id: str, expected_version: int, update_ops: dict[str, Any],
                 events: Sequence[CloudEvent]) -> bool:
    """Apply `update_ops` (plus a version bump and the events) if still at `expected_version`."""
    result = await collection.update_one(
        {"_id": talent_id, "version": expected_version},
        merge_updates(update_ops, {"$inc": {"version": 1}}, outbox_update(events)),
    )
    return result.modified_count == 1


async def exists(collection: Collection, talent_id: str) -> bool:
    return await collection.find_one({"_id": talent_id}, {"_id": 1}) is not None


async def find_by_account(collection: Collection, subject: str) -> Document | None:
    return await collection.find_one({"account_subject": subject}, HIDDEN)


async def page(collection: Collection, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    query = dict(filters)
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = collection.find(query, HIDDEN).sort("_id", 1).limit(limit)
    return [doc async for doc in cursor]


async def tally_rows(collection: Collection) -> list[Document]:
    """Every talent's few tally fields (one scan; the registry holds thousands, not millions)."""
    return [doc async for doc in collection.find({}, TALLY_FIELDS)]
