"""Store access for pledges: the one place that knows their document shape."""

from __future__ import annotations

from servicekit import aggregates, tallies
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

from trading.fairs import tallies as deal_tallies
from trading.negotiations.parties import deal_lists

COLLECTION = "pledges"

INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),)



def _counted(doc: Document) -> dict[str, dict[str, int]]:
    """What a pledge adds to the deal tallies (trading/fairs/tallies.py): in force, and at its fair once
    registered (a released pledge still counts as a deal of the fair)."""
    counted: dict[str, dict[str, int]] = {}
    amount = int(doc.get("amount_fen") or 0)
    if doc.get("status") == "registered":
        counted[deal_tallies.PLEDGES] = {"active": 1, "active_amount_fen": amount}
    if doc.get("fair_id") and doc.get("status") in ("registered", "released"):
        counted[deal_tallies.fair(doc["fair_id"])] = {"pledges.count": 1, "pledges.amount_fen": amount}
    return counted


# Every change goes through the kit's unit of work (servicekit.aggregates) with this description.
AGGREGATE = Aggregate(COLLECTION, internal_fields=("action_keys",), tallied=_counted, listed=deal_lists(COLLECTION))
# What never leaves this module in a read (the outbox, idempotency and replay bookkeeping).
INTERNAL_FIELDS = tuple(AGGREGATE.hidden())





async def get(db: Database, pledge_id: str, *, with_keys: bool = False) -> Document | None:
    return await aggregates.read(db, AGGREGATE, pledge_id, keep=("action_keys",) if with_keys else ())


async def active_totals(db: Database) -> tuple[int, int]:
    """How many pledges are in force, and the amount they secure (fen), from the pledges tally."""
    tally = await tallies.read(db, deal_tallies.PLEDGES)
    return tallies.amount(tally, "active"), tallies.amount(tally, "active_amount_fen")
