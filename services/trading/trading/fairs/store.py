"""Store access for fairs: the one place that knows their document shape.

Exhibitors and shown listings are maps keyed by organisation and listing id, so adding one twice
changes nothing and no list needs `$pull`/`$addToSet` semantics FerretDB 1.x lacks.
"""

from __future__ import annotations

from typing import Any

from servicekit import aggregates, tallies
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

from trading.fairs import tallies as deal_tallies

COLLECTION = "fairs"

INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),)



def _counted(doc: Document) -> dict[str, dict[str, int]]:
    """Every fair is known to the gauges through the fairs tally (no listing of the collection)."""
    return {deal_tallies.FAIRS: {f"known.{tallies.key(doc['_id'])}": 1}}


# Every change goes through the kit's unit of work (servicekit.aggregates) with this description.
EVERY_FAIR = "fairs"
BY_STATUS = "fairs_by_status"
AGGREGATE = Aggregate(COLLECTION, internal_fields=("action_keys",), tallied=_counted, listed=lambda doc: {
    # The list page's lookups (servicekit.lookups): every fair, and by status.
    EVERY_FAIR: [aggregates.EVERYTHING], BY_STATUS: [doc.get("status")]})
# What never leaves this module in a read (the outbox, idempotency and replay bookkeeping).
INTERNAL_FIELDS = tuple(AGGREGATE.hidden())





async def get(db: Database, fair_id: str, *, with_keys: bool = False) -> Document | None:
    return await aggregates.read(db, AGGREGATE, fair_id, keep=("action_keys",) if with_keys else ())


async def page(db: Database, status: str | None, after: str | None, limit: int) -> list[Document]:
    query: dict[str, Any] = {"status": status} if status else {}
    return await aggregates.filtered_page(db, AGGREGATE, query, after=after, limit=limit, by={"status": BY_STATUS},
                                          everything=EVERY_FAIR)


async def all_ids(db: Database, limit: int = 200) -> list[str]:
    """The newest `limit` fairs' ids (from the fairs tally: one `_id` read)."""
    known = tallies.amounts(await tallies.read(db, deal_tallies.FAIRS), "known")
    return sorted(known, reverse=True)[:limit]
