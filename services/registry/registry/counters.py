"""Sequence numbers (registration, evaluation) without transactions: one counter document per
sequence and year, `$inc` by `_id` (the one filter FerretDB indexes).

On MongoDB `findOneAndUpdate` with `$inc` is atomic; FerretDB 1.x applies it as read-modify-replace,
so the increment is also held under the process's DocumentLocks (the API is the only writer). A
number taken by a request that then fails is simply never used: gaps are allowed, repeats are not
(and every document numbered this way has the number as a unique key, so a repeat could not be
stored anyway).
"""

from __future__ import annotations

from pymongo import ReturnDocument
from servicekit.mongo import Database, DocumentLocks

COLLECTION = "counters"


async def next_value(db: Database, locks: DocumentLocks, sequence: str, year: int) -> int:
    counter_id = f"{sequence}-{year}"
    async with locks.hold(COLLECTION, counter_id):
        doc = await db[COLLECTION].find_one_and_update(
            {"_id": counter_id}, {"$inc": {"value": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
    assert doc is not None  # upsert with ReturnDocument.AFTER always returns the document
    return int(doc["value"])
