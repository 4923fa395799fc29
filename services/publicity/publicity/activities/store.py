"""Store access for activities: the one place that knows their documents."""

from __future__ import annotations

from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "activities"

INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
           IndexSpec(COLLECTION, (("campaign_id", 1), ("_id", 1))),
           IndexSpec(COLLECTION, (("responsible_unit", 1), ("_id", 1))))

AGGREGATE = Aggregate(COLLECTION)


async def insert(db: Database, document: Document) -> None:
    await aggregates.create(db, AGGREGATE, document)


async def get(db: Database, activity_id: str) -> Document | None:
    return await aggregates.read(db, AGGREGATE, activity_id)


async def page(db: Database, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    """Lists (a filtered scan on FerretDB: see tests/stack/store_scans.py)."""
    query: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = db[COLLECTION].find(query, AGGREGATE.hidden()).sort("_id", 1).limit(limit)
    return [d async for d in cursor]
