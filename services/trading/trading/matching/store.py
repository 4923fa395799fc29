"""Store access for match suggestions.

A match is written once, by the worker, with its `match.suggested` event in the same insert (the
outbox; the worker's relay publishes it, woken by the kit's unit of work). Its `_id` is derived from the
pair, so however often a listing or demand event is redelivered, each pair is suggested once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from pymongo.errors import DuplicateKeyError
from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import PROCESS_LOCKS, Database, Document, IndexSpec

COLLECTION = "matches"
RUNS = "match_runs"  # event ids the matchmaker has finished, so a redelivery counts as a duplicate
# The open demands by term (`_id` = "kw:<token>" or "ipc:<level>", `d` = {demand id: 1}), so a published
# listing reads the demands it may match by `_id` instead of scanning every open demand
# (scoring.demand_filing_terms says which terms). Written by the API, which owns the demands: filed
# before the demand is inserted (so never missing), unfiled after it closes; an entry whose demand is
# absent or closed is skipped when read.
DEMAND_TERMS = "open_demand_terms"

INDEXES: tuple[IndexSpec, ...] = ()  # every read is by `_id` (the lookups serve a party's list)
# A party's suggestions, for its list page (servicekit.lookups).
BY_PARTY = "matches_by_party"
# A party's list reads at most this many of its suggestions before ranking them by score.
RANKED_AT_MOST = 5000


def _lists(doc: Document) -> dict[str, list[str]]:
    return {BY_PARTY: list(doc.get("parties") or [])}


# Created through the kit's unit of work (servicekit.aggregates), which wakes this process's relay.
AGGREGATE = Aggregate(COLLECTION, listed=_lists)


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
    """A party's suggestions, best first (its lookup, each by `_id`, ranked here: the cost is the party's
    suggestions, not the collection's)."""
    def wanted(doc: Document) -> bool:
        return (not listing_id or doc["listing_id"] == listing_id) and (not demand_id or doc["demand_id"] == demand_id)

    found = await aggregates.listed(db, AGGREGATE, BY_PARTY, organisation_id, limit=RANKED_AT_MOST, where=wanted)
    return sorted(found, key=lambda doc: (-int(doc["score"]), doc["_id"]))[:limit]


async def file_demand(db: Database, demand_id: str, terms: Iterable[str]) -> None:
    """File an open demand under its terms (before it is inserted)."""
    await asyncio.gather(*(_set_filed(db, term, demand_id, True) for term in sorted(set(terms))))


async def unfile_demand(db: Database, demand_id: str, terms: Iterable[str]) -> None:
    """Take a closed demand off its terms (after it closed)."""
    await asyncio.gather(*(_set_filed(db, term, demand_id, False) for term in sorted(set(terms))))


async def _set_filed(db: Database, term: str, demand_id: str, filed: bool) -> None:
    # Held under the term's lock: FerretDB applies the update as read-modify-replace.
    async with PROCESS_LOCKS.hold(DEMAND_TERMS, term):
        if filed:
            await db[DEMAND_TERMS].update_one({"_id": term}, {"$set": {f"d.{demand_id}": 1}}, upsert=True)
        else:
            await db[DEMAND_TERMS].update_one({"_id": term}, {"$unset": {f"d.{demand_id}": ""}})


async def filed_demand_ids(db: Database, terms: Iterable[str]) -> list[str]:
    """The demands filed under any of these terms (each term's document read by `_id`)."""
    found = await asyncio.gather(*(db[DEMAND_TERMS].find_one({"_id": term}) for term in sorted(set(terms))))
    return sorted({demand_id for doc in found if doc is not None for demand_id in doc.get("d") or {}})
