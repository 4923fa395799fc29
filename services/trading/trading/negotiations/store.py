"""Store access for negotiations: the one place that knows their document shape.

A negotiation is one document: its offers (a list, appended with `$push`), its status, the side
that made the current offer and until when it is valid, and `parties` (the organisations that may
see it), with its events in its own outbox. Every change is one single-document update guarded by
the version it read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec
from servicekit.outbox import initial_outbox_fields, merge_updates, outbox_update

COLLECTION = "negotiations"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
    IndexSpec(COLLECTION, (("parties", 1), ("_id", 1))),
    IndexSpec(COLLECTION, (("status", 1), ("current_valid_until", 1))),
    IndexSpec(COLLECTION, (("listing_id", 1), ("status", 1))),
    IndexSpec(COLLECTION, (("fair_id", 1), ("_id", 1))),
)

INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint", "action_keys", "signing")


class DuplicateNegotiation(Exception):
    def __init__(self, earlier: Document | None) -> None:
        self.earlier = earlier


async def insert(db: Database, document: Document, events: Sequence[CloudEvent]) -> None:
    try:
        await db[COLLECTION].insert_one({**document, **initial_outbox_fields(events)})
    except DuplicateKeyError as exc:
        earlier = await db[COLLECTION].find_one({"creation_key": document["creation_key"]})
        raise DuplicateNegotiation(earlier) from exc


async def get(db: Database, negotiation_id: str, *, with_keys: bool = False) -> Document | None:
    hidden = [f for f in INTERNAL_FIELDS if not (with_keys and f == "action_keys")]
    return await db[COLLECTION].find_one({"_id": negotiation_id}, {f: 0 for f in hidden})


async def update(db: Database, negotiation_id: str, expected_version: int, changes: dict[str, Any],
                 events: Sequence[CloudEvent], *, new_offer: Document | None = None) -> bool:
    """Apply `changes` (and append `new_offer`) if still at `expected_version`. The caller holds the lock."""
    update_ops = merge_updates({"$set": changes, "$inc": {"version": 1}}, outbox_update(events))
    if new_offer is not None:
        update_ops["$push"] = {"offers": new_offer}
        update_ops["$inc"]["offer_count"] = 1  # kept beside the list so statistics need no $size
    result = await db[COLLECTION].update_one({"_id": negotiation_id, "version": expected_version}, update_ops)
    return result.modified_count == 1


async def page_for(db: Database, organisation_id: str, status: str | None, after: str | None,
                   limit: int) -> list[Document]:
    query: dict[str, Any] = {"parties": organisation_id}
    if status:
        query["status"] = status
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = db[COLLECTION].find(query, {f: 0 for f in INTERNAL_FIELDS}).sort("_id", 1).limit(limit)
    return [d async for d in cursor]


async def lapsed_ids(db: Database, now: datetime, limit: int = 500) -> list[str]:
    """Open negotiations whose current offer's valid_until has passed."""
    cursor = db[COLLECTION].find({"status": "open", "current_valid_until": {"$lte": now}}, {"_id": 1}).limit(limit)
    return [d["_id"] async for d in cursor]


async def open_on_listing(db: Database, listing_id: str) -> int:
    return await db[COLLECTION].count_documents({"listing_id": listing_id, "status": "open"})


async def mark_signing(db: Database, negotiation_id: str, signing: Document | None) -> None:
    """Set (or clear) the interrupted-signing marker. Bookkeeping, not a change of the negotiation:
    the version, and so the parties' ETags, stay as they are. The caller holds the lock."""
    await db[COLLECTION].update_one({"_id": negotiation_id}, {"$set": {"signing": signing}})


async def signing_markers(db: Database, limit: int = 100) -> dict[str, Document]:
    """Negotiation id -> signing marker, for those carrying one (a scan on FerretDB; the collection is
    small next to listings)."""
    cursor = db[COLLECTION].find({"signing": {"$ne": None}}, {"signing": 1}).limit(limit)
    return {d["_id"]: d["signing"] async for d in cursor}
