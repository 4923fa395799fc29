"""Store access for campaigns: the one place that knows their documents. Pins are a map keyed by
`<kind>:<item id>`, so pinning twice changes nothing."""

from __future__ import annotations

from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "campaigns"

INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
           IndexSpec(COLLECTION, (("status", 1), ("_id", 1))))

AGGREGATE = Aggregate(COLLECTION)


async def insert(db: Database, document: Document) -> None:
    await aggregates.create(db, AGGREGATE, document)


async def get(db: Database, campaign_id: str) -> Document | None:
    return await aggregates.read(db, AGGREGATE, campaign_id)


async def page(db: Database, status: str | None, after: str | None, limit: int) -> list[Document]:
    query: dict[str, Any] = {}
    if status:
        query["status"] = status
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = db[COLLECTION].find(query, AGGREGATE.hidden()).sort("_id", 1).limit(limit)
    return [d async for d in cursor]


async def open_ones(db: Database) -> list[Document]:
    """Open campaigns, for the gauges (a handful a year)."""
    return [d async for d in db[COLLECTION].find({"status": "open"}, AGGREGATE.hidden())]
