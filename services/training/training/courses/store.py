"""Store access for courses: the one place that knows their document shape.

Decimals (credit hours) are kept as their canonical strings: FerretDB 1.x has no Decimal128, and a
string round-trips exactly on both stores.
"""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.mongo import Collection, Document, IndexSpec

COLLECTION = "courses"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
    IndexSpec(COLLECTION, (("training_base_id", 1), ("_id", 1))),
)

INTERNAL_FIELDS = ("creation_key", "creation_fingerprint")


class DuplicateCourse(Exception):
    def __init__(self, same_request: Document | None) -> None:
        self.same_request = same_request


async def insert(collection: Collection, document: Document) -> None:
    try:
        await collection.insert_one(document)
    except DuplicateKeyError as exc:
        raise DuplicateCourse(await collection.find_one({"creation_key": document["creation_key"]})) from exc


async def get(collection: Collection, course_id: str) -> Document | None:
    return await collection.find_one({"_id": course_id}, {f: 0 for f in INTERNAL_FIELDS})


async def get_many(collection: Collection, course_ids: list[str]) -> dict[str, Document]:
    if not course_ids:
        return {}
    cursor = collection.find({"_id": {"$in": course_ids}}, {f: 0 for f in INTERNAL_FIELDS})
    return {doc["_id"]: doc async for doc in cursor}


async def prerequisite_graph(collection: Collection) -> dict[str, list[str]]:
    """Every course's prerequisites (small: the curriculum has hundreds of courses, not millions)."""
    cursor = collection.find({}, {"prerequisites": 1})
    return {doc["_id"]: list(doc.get("prerequisites", [])) async for doc in cursor}


async def update(collection: Collection, course_id: str, expected_version: int, changes: dict[str, Any]) -> bool:
    result = await collection.update_one({"_id": course_id, "version": expected_version},
                                         {"$set": changes, "$inc": {"version": 1}})
    return result.modified_count == 1


async def page(collection: Collection, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    query = dict(filters)
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = collection.find(query, {f: 0 for f in INTERNAL_FIELDS}).sort("_id", 1).limit(limit)
    return [doc async for doc in cursor]
