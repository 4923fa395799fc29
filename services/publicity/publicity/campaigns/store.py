"""Store access for campaigns: the one place that knows their documents. Pins are a map keyed by
`<kind>:<item id>`, so pinning twice changes nothing."""

from __future__ import annotations

from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "campaigns"

INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),)  # lists come from lookups

EVERY_CAMPAIGN = "campaigns"
BY_STATUS = "campaigns_by_status"
AGGREGATE = Aggregate(COLLECTION, listed=lambda doc: {
    # The list (servicekit.lookups): every campaign, and by status (the gauges read the open ones).
    EVERY_CAMPAIGN: [aggregates.EVERYTHING], BY_STATUS: [doc.get("status")]})



async def get(db: Database, campaign_id: str) -> Document | None:
    return await aggregates.read(db, AGGREGATE, campaign_id)


async def page(db: Database, status: str | None, after: str | None, limit: int) -> list[Document]:
    query: dict[str, Any] = {"status": status} if status else {}
    return await aggregates.filtered_page(db, AGGREGATE, query, after=after, limit=limit, by={"status": BY_STATUS},
                                          everything=EVERY_CAMPAIGN)


async def open_ones(db: Database) -> list[Document]:
    """Open campaigns, for the gauges (a handful a year)."""
    return await aggregates.listed(db, AGGREGATE, BY_STATUS, "open", limit=1000)
