"""Store access for demands: the one place that knows their document shape."""

from __future__ import annotations

from collections.abc import Sequence

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec

from trading.demands.domain import DemandStatus

COLLECTION = "demands"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
    IndexSpec(COLLECTION, (("organisation_id", 1), ("_id", 1))),
    IndexSpec(COLLECTION, (("status", 1), ("_id", 1))),  # the matchmaker reads the open demands
)

# Every change goes through the kit's unit of work (servicekit.aggregates) with this description.
AGGREGATE = Aggregate(COLLECTION, internal_fields=())
# What never leaves this module in a read (the outbox, idempotency and replay bookkeeping).
INTERNAL_FIELDS = tuple(AGGREGATE.hidden())




async def insert(db: Database, document: Document, events: Sequence[CloudEvent] = ()) -> None:
    """Raises aggregates.DuplicateCreation (with what an earlier request with this key created)."""
    await aggregates.create(db, AGGREGATE, document, events)


async def get(db: Database, demand_id: str) -> Document | None:
    return await aggregates.read(db, AGGREGATE, demand_id)


async def by_organisation(db: Database, organisation_id: str, limit: int = 200) -> list[Document]:
    cursor = db[COLLECTION].find({"organisation_id": organisation_id},
                                 AGGREGATE.hidden()).sort("_id", 1).limit(limit)
    return [d async for d in cursor]


async def open_demands(db: Database) -> list[Document]:
    """Every open demand (a scan: matchmaking runs in the worker, off the request path)."""
    cursor = db[COLLECTION].find({"status": DemandStatus.OPEN.value}, AGGREGATE.hidden())
    return [d async for d in cursor]
