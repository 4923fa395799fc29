"""Store access for talents: the one place that knows their document shape.

A talent's `_id` is its registration number. `identity_hash` (HMAC of the identity number) has a
unique index, so one person is registered once; `creation_key` makes a retried POST idempotent.
Both are bookkeeping and never leave this module in a read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Collection, Database, Document, IndexSpec

COLLECTION = "talents"

INDEXES = (
    IndexSpec(COLLECTION, (("identity_hash", 1),), unique=True),
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
    IndexSpec(COLLECTION, (("city_code", 1), ("_id", 1))),
    IndexSpec(COLLECTION, (("employer_organisation_id", 1), ("_id", 1))),
    IndexSpec(COLLECTION, (("account_subject", 1),)),  # /talents/me, one login bound once
)

INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint", "identity_hash", "applied_events",
                   "last_change")
# Every change goes through the kit's unit of work (servicekit.aggregates) with this description.
AGGREGATE = Aggregate(COLLECTION, internal_fields=INTERNAL_FIELDS)
HIDDEN = AGGREGATE.hidden()

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


async def insert(db: Database, document: Document, events: Sequence[CloudEvent]) -> None:
    try:
        await aggregates.create(db, AGGREGATE, document, events, find_earlier=False)
    except aggregates.DuplicateCreation as exc:
        # Which unique index fired is the server's choice: look each key up (a rare path; these
        # filters scan on FerretDB).
        collection = db[COLLECTION]
        earlier = await collection.find_one({"creation_key": document["creation_key"]}, {"_id": 1,
                                            "creation_fingerprint": 1})
        person = await collection.find_one({"identity_hash": document["identity_hash"]}, {"_id": 1})
        raise DuplicateTalent(earlier, person) from exc


async def get(collection: Collection, talent_id: str) -> Document | None:
    return await collection.find_one({"_id": talent_id}, HIDDEN)


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
