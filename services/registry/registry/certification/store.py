"""Store access for evaluations and the certification rules (one document, `_id` = "current")."""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.mongo import Collection, Document, IndexSpec

EVALUATIONS = "evaluations"
RULES = "certification_rules"
CURRENT_RULES = "current"

INDEXES = (
    IndexSpec(EVALUATIONS, (("creation_key", 1),), unique=True),
    IndexSpec(EVALUATIONS, (("talent_id", 1), ("_id", 1))),
)

HIDDEN = {"creation_key": 0, "creation_fingerprint": 0}


class DuplicateEvaluation(Exception):
    def __init__(self, same_request: Document | None) -> None:
        self.same_request = same_request


async def insert(collection: Collection, document: Document) -> None:
    try:
        await collection.insert_one(document)
    except DuplicateKeyError as exc:
        earlier = await collection.find_one({"creation_key": document["creation_key"]},
                                            {"_id": 1, "creation_fingerprint": 1})
        raise DuplicateEvaluation(earlier) from exc


async def get(collection: Collection, evaluation_id: str) -> Document | None:
    return await collection.find_one({"_id": evaluation_id}, HIDDEN)


async def update(collection: Collection, evaluation_id: str, expected_version: int, ops: dict[str, Any]) -> bool:
    ops = {**ops, "$inc": {"version": 1}}
    result = await collection.update_one({"_id": evaluation_id, "version": expected_version}, ops)
    return result.modified_count == 1


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


async def replace_rules(collection: Collection, expected_version: int, body: dict[str, Any]) -> bool:
    result = await collection.update_one({"_id": CURRENT_RULES, "version": expected_version},
                                         {"$set": body, "$inc": {"version": 1}})
    return result.modified_count == 1
