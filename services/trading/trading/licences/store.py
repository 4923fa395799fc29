"""Store access for licences and their royalty reports: the one place that knows their documents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec
from servicekit.outbox import initial_outbox_fields, merge_updates, outbox_update

COLLECTION = "licences"
ROYALTY_REPORTS = "royalty_reports"

INDEXES = (
    IndexSpec(COLLECTION, (("parties", 1), ("_id", 1))),
    IndexSpec(COLLECTION, (("recordal_status", 1), ("recordal_deadline", 1))),
    IndexSpec(COLLECTION, (("fair_id", 1), ("_id", 1))),
    IndexSpec(ROYALTY_REPORTS, (("licence_id", 1), ("period_start", 1))),
)

INTERNAL_FIELDS = ("outbox", "action_keys")


async def insert(db: Database, document: Document, events: Sequence[CloudEvent]) -> bool:
    """Insert the licence with its events; False when it already exists (a retried signing)."""
    try:
        await db[COLLECTION].insert_one({**document, **initial_outbox_fields(events)})
    except DuplicateKeyError:
        return False
    return True


async def get(db: Database, licence_id: str, *, with_keys: bool = False) -> Document | None:
    hidden = [f for f in INTERNAL_FIELDS if not (with_keys and f == "action_keys")]
    return await db[COLLECTION].find_one({"_id": licence_id}, {f: 0 for f in hidden})


async def update(db: Database, licence_id: str, expected_version: int, changes: dict[str, Any],
                 events: Sequence[CloudEvent]) -> bool:
    result = await db[COLLECTION].update_one(
        {"_id": licence_id, "version": expected_version},
        merge_updates({"$set": changes, "$inc": {"version": 1}}, outbox_update(events)))
    return result.modified_count == 1


async def page(db: Database, organisation_id: str | None, overdue_on: date | None, application_number: str | None,
               after: str | None, limit: int) -> list[Document]:
    """Licences a party is on (all of them for staff: organisation_id None), optionally only those whose
    recordal is overdue on `overdue_on`."""
    query: dict[str, Any] = {}
    if organisation_id is not None:
        query["parties"] = organisation_id
    if overdue_on is not None:
        query["recordal_status"] = "pending"
        query["recordal_deadline"] = {"$lt": overdue_on.isoformat()}
    if application_number is not None:
        query["application_number"] = application_number
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = db[COLLECTION].find(query, {f: 0 for f in INTERNAL_FIELDS}).sort("_id", 1).limit(limit)
    return [d async for d in cursor]


async def count_overdue(db: Database, today: date) -> int:
    return await db[COLLECTION].count_documents({"recordal_status": "pending",
                                                 "recordal_deadline": {"$lt": today.isoformat()}})


async def count_by_type(db: Database) -> dict[str, int]:
    cursor = await db[COLLECTION].aggregate([{"$group": {"_id": "$licence_type", "n": {"$sum": 1}}}])
    return {str(d["_id"]): int(d["n"]) async for d in cursor}


async def insert_report(db: Database, document: Document) -> tuple[Document, bool]:
    """Insert a royalty report; returns the stored report (the earlier one for that licence and period,
    if there is one) and whether it was inserted now."""
    try:
        await db[ROYALTY_REPORTS].insert_one(document)
        created = True
    except DuplicateKeyError:
        created = False
    stored = await db[ROYALTY_REPORTS].find_one({"_id": document["_id"]})
    assert stored is not None  # reports are never deleted
    return stored, created


async def reports(db: Database, licence_id: str) -> list[Document]:
    cursor = db[ROYALTY_REPORTS].find({"licence_id": licence_id}).sort("period_start", 1).limit(1000)
    return [d async for d in cursor]
