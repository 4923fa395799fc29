"""Store access for evaluations and the certification rules (one document, `_id` = "current")."""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import Collection, Database, Document, IndexSpec

EVALUATIONS = "evaluations"
RULES = "certification_rules"
CURRENT_RULES = "current"

INDEXES = (
    IndexSpec(EVALUATIONS, (("creation_key", 1),), unique=True),
    IndexSpec(EVALUATIONS, (("talent_id", 1), ("_id", 1))),
)

# Every change goes through the kit's unit of work (servicekit.aggregates) with these descriptions.
AGGREGATE = Aggregate(EVALUATIONS)
RULES_AGGREGATE = Aggregate(RULES)
HIDDEN = AGGREGATE.hidden()


async def insert(db: Database, document: Document) -> None:
    """Raises aggregates.DuplicateCreation (with what an earlier request with this key created)."""
    await aggregates.create(db, AGGREGATE, document)


async def get(collection: Collection, evaluation_id: str) -> Document | None:
    return await collection.find_one({"_id": evaluation_id}, HIDDEN)


async def open_for(collection: Collection, talent_id: str, level: str, category: str,
                   statuses: list[str]) -> Document | None:
    return await collection.find_one({"talent_id": talent_id, "level": level, "category": category,
                                      "status": {"$in": statuses}}, {"_id": 1})


async def page(collection: Collection, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    query = dict(filters)
    if after is not None:
        query["_id"] = {"$gt": after}
    return [d async for d in collection.find(query, HIDDEN).sort("_id", 1).limit(limit)]


async def rules(collection: Collection) -> Document | None:
    return await collection.find_one({"_id": CURRENT_RULES})


async def seed_rules(collection: Collection, body: dict[str, Any]) -> None:
    """Store the default edition as version 1 unless some edition is there already."""
    with contextlib.suppress(DuplicateKeyError):  # another request seeded it first: fine
        await collection.insert_one({"_id": CURRENT_RULES, **body, "version": 1, "updated_at": None})
