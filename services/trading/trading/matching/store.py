"""Store access for match suggestions.

A match is written once, by the worker, with its `match.suggested` event in the same insert (the
outbox; the worker's relay publishes it, woken by the kit's unit of work). Its `_id` is derived from the
pair, so however often a listing or demand event is redelivered, each pair is suggested once.
"""

from __future__ import annotations

import contextlib

from pymongo.errors import DuplicateKeyError
from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "matches"
RUNS = "match_runs"  # event ids the matchmaker has finished, so a redelivery counts as a duplicate

INDEXES = (IndexSpec(COLLECTION, (("parties", 1), ("_id", 1))),)
# Created through the kit's unit of work (servicekit.aggregates), which wakes this process's relay.
AGGREGATE = Aggregate(COLLECTION)


def match_id(listing_id: str, demand_id: str) -> str:
    return f"mt-{listing_id}-{demand_id}"


async def insert_once(db: Database, document: Document, event: CloudEvent) -> bool:
    """Insert the match and its event; False when this pair was suggested before."""
    try:
        await aggregates.create(db, AGGREGATE, document, [event], find_earlier=False)
    except aggregates.DuplicateCreation:
        return False
    return True


async def run_done(db: Database, event_id: str) -> bool:
    return await db[RUNS].find_one({"_id": event_id}) is not None


async def mark_run_done(db: Database, event_id: str) -> None:
    with contextlib.suppress(DuplicateKeyError):  # a redelivery raced us here: done either way
        await db[RUNS].insert_one({"_id": event_id})


async def get(db: Database, match: str) -> Document | None:
    return await db[COLLECTION].find_one({"_id": match}, AGGREGATE.hidden())


async def for_party(db: Database, organisation_id: str, listing_id: str | None, demand_id: str | None,
                    limit: int = 200) -> list[Document]:
    query: dict[str, str] = {"parties": organisation_id}
    if listing_id:
        query["listing_id"] = listing_id
    if demand_id:
        query["demand_id"] = demand_id
    cursor = db[COLLECTION].find(query, AGGREGATE.hidden()).sort("score", -1).limit(limit)
    return [d async for d in cursor]
