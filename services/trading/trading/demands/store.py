"""Store access for demands: the one place that knows their document shape."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "demands"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
)

# Every change goes through the kit's unit of work (servicekit.aggregates) with this description.
BY_ORGANISATION = "demands_by_organisation"
AGGREGATE = Aggregate(COLLECTION, internal_fields=(), listed=lambda doc: {
    # "My demands" (servicekit.lookups).
    BY_ORGANISATION: [doc.get("organisation_id")]})
# What never leaves this module in a read (the outbox, idempotency and replay bookkeeping).
INTERNAL_FIELDS = tuple(AGGREGATE.hidden())




async def insert(db: Database, document: Document, events: Sequence[CloudEvent] = ()) -> None:
    """Raises aggregates.DuplicateCreation (with what an earlier request with this key created)."""
    await aggregates.create(db, AGGREGATE, document, events)


async def get(db: Database, demand_id: str) -> Document | None:
    return await aggregates.read(db, AGGREGATE, demand_id)


async def get_many(db: Database, demand_ids: Sequence[str]) -> list[Document]:
    """By `_id` one at a time, concurrently (FerretDB serves only exact `{_id: value}` from its index)."""
    found = await asyncio.gather(*(get(db, i) for i in demand_ids))
    return [d for d in found if d is not None]


async def by_organisation(db: Database, organisation_id: str, limit: int = 200) -> list[Document]:
    return await aggregates.listed(db, AGGREGATE, BY_ORGANISATION, organisation_id, limit=limit)
