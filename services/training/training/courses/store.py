"""Store access for courses: the one place that knows their document shape.

Decimals (credit hours) are kept as their canonical strings: FerretDB 1.x has no Decimal128, and a
string round-trips exactly on both stores.
"""

from __future__ import annotations

import asyncio
from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "courses"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
)



# Every change goes through the kit's unit of work (servicekit.aggregates) with this description.
EVERY_COURSE = "courses"
BY_BASE = "courses_by_base"
AGGREGATE = Aggregate(COLLECTION, listed=lambda doc: {
    # The list page's lookups (servicekit.lookups): every course, and by training base.
    EVERY_COURSE: [aggregates.EVERYTHING], BY_BASE: [doc.get("training_base_id")]})



async def get(db: Database, course_id: str) -> Document | None:
    return await db[COLLECTION].find_one({"_id": course_id}, AGGREGATE.hidden())


async def get_many(db: Database, course_ids: list[str]) -> dict[str, Document]:
    # One `_id` read each, concurrently: FerretDB indexes only an exact `{_id: value}` filter.
    found = await asyncio.gather(*(get(db, c) for c in dict.fromkeys(course_ids)))
    return {doc["_id"]: doc for doc in found if doc is not None}


async def prerequisite_graph(db: Database) -> dict[str, list[str]]:
    """Every course's prerequisites (small: the curriculum has hundreds of courses, not millions)."""
    cursor = db[COLLECTION].find({}, {"prerequisites": 1})
    return {doc["_id"]: list(doc.get("prerequisites", [])) async for doc in cursor}


async def page(db: Database, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    return await aggregates.filtered_page(db, AGGREGATE, filters, after=after, limit=limit,
                                          by={"training_base_id": BY_BASE}, everything=EVERY_COURSE)
