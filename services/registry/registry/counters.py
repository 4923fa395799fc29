"""Sequence numbers (registration, evaluation) without transactions: one counter document per
sequence and year, `$inc` by `_id` (the one filter FerretDB indexes).

On MongoDB `findOneAndUpdate` with `$inc` is atomic; FerretDB 1.x applies it as read-modify-replace,
so the kit also holds the increment under the process's lock on the counter (the API is the only writer). A
number taken by a request that then fails is simply never used: gaps are allowed, repeats are not
(and every document numbered this way has the number as a unique key, so a repeat could not be
stored anyway).
"""

from __future__ import annotations

from servicekit.aggregates import next_in_sequence
from servicekit.mongo import Database

COLLECTION = "counters"


async def next_value(db: Database, sequence: str, year: int) -> int:
    return await next_in_sequence(db, COLLECTION, f"{sequence}-{year}")
