"""Store access for pledges: the one place that knows their document shape."""

from __future__ import annotations

from collections.abc import Sequence

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "pledges"

INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
           IndexSpec(COLLECTION, (("parties", 1), ("_id", 1))),
           IndexSpec(COLLECTION, (("application_number", 1), ("_id", 1))),
           IndexSpec(COLLECTION, (("status", 1), ("_id", 1))),
           IndexSpec(COLLECTION, (("fair_id", 1), ("_id", 1))))

# Every change goes through the kit's unit of work (servicekit.aggregates) with this description.
AGGREGATE = Aggregate(COLLECTION, internal_fields=("action_keys",))
# What never leaves this module in a read (the outbox, idempotency and replay bookkeeping).
INTERNAL_FIELDS = tuple(AGGREGATE.hidden())




async def insert(db: Database, document: Document, events: Sequence[CloudEvent] = ()) -> None:
    """Raises aggregates.DuplicateCreation (with what an earlier request with this key created)."""
    await aggregates.create(db, AGGREGATE, document, events)


async def get(db: Database, pledge_id: str, *, with_keys: bool = False) -> Document | None:
    return await aggregates.read(db, AGGREGATE, pledge_id, keep=("action_keys",) if with_keys else ())


async def active_totals(db: Database) -> tuple[int, int]:
    """How many pledges are in force, and the amount they secure (fen). Summed here: FerretDB 1.24
    answers 0 for `$group` with `$sum: "$field"`."""
    count = amount = 0
    async for doc in db[COLLECTION].find({"status": "registered"}, {"amount_fen": 1}):
        count += 1
        amount += int(doc["amount_fen"])
    return count, amount
