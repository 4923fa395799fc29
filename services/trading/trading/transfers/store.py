"""Store access for transfers: the one place that knows their document shape."""

from __future__ import annotations

from collections.abc import Sequence

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec

from trading.fairs import tallies as deal_tallies
from trading.negotiations.parties import deal_lists

COLLECTION = "transfers"

INDEXES: tuple[IndexSpec, ...] = ()  # every read is by `_id` (lookups serve the lists)



def _counted(doc: Document) -> dict[str, dict[str, int]]:
    """A registered transfer is a deal of its fair (trading/fairs/tallies.py)."""
    if doc.get("fair_id") and doc.get("status") == "registered":
        return {deal_tallies.fair(doc["fair_id"]): {"transfers.count": 1,
                                                     "transfers.amount_fen": int(doc.get("price_fen") or 0)}}
    return {}


# Every change goes through the kit's unit of work (servicekit.aggregates) with this description.
AGGREGATE = Aggregate(COLLECTION, internal_fields=("action_keys",), tallied=_counted, listed=deal_lists(COLLECTION))
# What never leaves this module in a read (the outbox, idempotency and replay bookkeeping).
INTERNAL_FIELDS = tuple(AGGREGATE.hidden())


async def insert(db: Database, document: Document, events: Sequence[CloudEvent] = ()) -> bool:
    """Insert it with its events; False when it already exists (a retried signing)."""
    try:
        await aggregates.create(db, AGGREGATE, document, events, find_earlier=False)
    except aggregates.DuplicateCreation:
        return False
    return True


async def get(db: Database, transfer_id: str, *, with_keys: bool = False) -> Document | None:
    return await aggregates.read(db, AGGREGATE, transfer_id, keep=("action_keys",) if with_keys else ())
