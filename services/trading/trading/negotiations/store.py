"""Store access for negotiations: the one place that knows their document shape.

A negotiation is one document: its offers (a list, appended with `$push`), its status, the side
that made the current offer and until when it is valid, and `parties` (the organisations that may
see it), with its events in its own outbox. Every change is one single-document update guarded by
the version it read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from servicekit import aggregates, tallies
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

from trading.fairs import tallies as deal_tallies

COLLECTION = "negotiations"
# Pending-work markers for the deals sweep, so it never reads the negotiations to find its work: the
# current offer's deadline of each open negotiation, and each signing begun and not yet finished.
DEADLINES = "negotiation_offer_deadlines"
SIGNINGS = "negotiation_signings"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
)



def on_listing(listing_id: str) -> str:
    """The tally of a listing's negotiations (how many are open), read before the listing goes back to
    the search."""
    return f"listing:{tallies.key(listing_id)}"


def _counted(doc: Document) -> dict[str, dict[str, int]]:
    """An open negotiation counts on its listing; a negotiation at a fair counts toward the fair's figures:
    itself, its offers, and whether one was accepted (trading/fairs/tallies.py)."""
    counted: dict[str, dict[str, int]] = {}
    if doc.get("status") == "open" and doc.get("listing_id"):
        counted[on_listing(doc["listing_id"])] = {"open_negotiations": 1}
    if doc.get("fair_id"):
        counted[deal_tallies.fair(doc["fair_id"])] = {
            "negotiations": 1, "offers": int(doc.get("offer_count") or 0),
            "offers_accepted": 1 if doc.get("status") in ("accepted", "signed") else 0}
    return counted


# A party's negotiations, for its list page (servicekit.lookups).
BY_PARTY = "negotiations_by_party"


def _lists(doc: Document) -> dict[str, list[str]]:
    return {BY_PARTY: list(doc.get("parties") or [])}


# Every change goes through the kit's unit of work (servicekit.aggregates) with this description.
AGGREGATE = Aggregate(COLLECTION, internal_fields=("action_keys", "signing"),  # `signing`: old documents
                      tallied=_counted, listed=_lists)




async def get(db: Database, negotiation_id: str, *, with_keys: bool = False) -> Document | None:
    return await aggregates.read(db, AGGREGATE, negotiation_id, keep=("action_keys",) if with_keys else ())


def change_update(changes: dict[str, Any], *, new_offer: Document | None = None) -> dict[str, dict[str, Any]]:
    """The update that applies `changes` (and appends `new_offer`); the unit of work adds the version bump
    and the events."""
    ops: dict[str, dict[str, Any]] = {"$set": changes}
    if new_offer is not None:
        ops["$push"] = {"offers": new_offer}
        ops["$inc"] = {"offer_count": 1}  # kept beside the list so statistics need no $size
    return ops


async def page_for(db: Database, organisation_id: str, status: str | None, after: str | None,
                   limit: int) -> list[Document]:
    """A page of a party's negotiations (its lookup, then each by `_id`), optionally in one status."""
    return await aggregates.listed(db, AGGREGATE, BY_PARTY, organisation_id, limit=limit, after=after,
                                   where=lambda doc: not status or doc["status"] == status)


async def note_deadline(db: Database, negotiation_id: str, due: datetime) -> None:
    """The negotiation's current offer lapses at `due` (a marker the deals sweep reads, written in the
    negotiation's unit of work before the offer is stored)."""
    await db[DEADLINES].update_one({"_id": negotiation_id}, {"$set": {"due": due}}, upsert=True)


async def drop_deadline(db: Database, negotiation_id: str) -> None:
    await db[DEADLINES].delete_one({"_id": negotiation_id})


async def lapsed_ids(db: Database, now: datetime, limit: int = 500) -> list[str]:
    """Negotiations whose current offer's valid_until has passed, from the deadline markers: one per
    open negotiation, never the whole history of negotiations."""
    cursor = db[DEADLINES].find({"due": {"$lte": now}}, {"_id": 1}).limit(limit)
    return [d["_id"] async for d in cursor]


async def open_on_listing(db: Database, listing_id: str) -> int:
    """How many negotiations on the listing are open (its tally: one `_id` read)."""
    return tallies.amount(await tallies.read(db, on_listing(listing_id)), "open_negotiations")


async def mark_signing(unit: aggregates.Change, signing: Document | None) -> None:
    """Set (or clear) the interrupted-signing marker, in the negotiation's open unit of work. Bookkeeping,
    not a change of the negotiation: the version, and so the parties' ETags, stay as they are."""
    if signing is None:
        await unit.db[SIGNINGS].delete_one({"_id": unit.doc_id})
    else:
        await unit.db[SIGNINGS].replace_one({"_id": unit.doc_id}, signing, upsert=True)


async def signing_markers(db: Database, limit: int = 100) -> dict[str, Document]:
    """Negotiation id -> signing marker, for the signings begun and not finished (a small collection:
    only signings in progress)."""
    return {d["_id"]: d async for d in db[SIGNINGS].find({}).limit(limit)}
