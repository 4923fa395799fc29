"""Store access for organisations: the one place that knows their document shape."""

from __future__ import annotations

from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import Collection, Document, IndexSpec

COLLECTION = "organisations"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
)

# Never returned to callers: bookkeeping of the outbox, idempotency and consumers.
INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint",
                   "applied_events")


# Every change goes through the kit's unit of work (servicekit.aggregates) with this description.
EVERY_ORGANISATION = "organisations"
BY_REGION = "organisations_by_region"
AGGREGATE = Aggregate(COLLECTION, internal_fields=INTERNAL_FIELDS, listed=lambda doc: {
    # The list page's lookups (servicekit.lookups): every organisation, and by region.
    EVERY_ORGANISATION: [aggregates.EVERYTHING], BY_REGION: [doc.get("region_code")]})


async def get(collection: Collection, organisation_id: str) -> Document | None:
    return await collection.find_one({"_id": organisation_id}, AGGREGATE.hidden())


async def page(collection: Collection, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    return await aggregates.filtered_page(collection.database, AGGREGATE, filters, after=after, limit=limit,
                                          by={"region_code": BY_REGION}, everything=EVERY_ORGANISATION)
