"""Store access for activities: the one place that knows their documents."""

from __future__ import annotations

from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "activities"

INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),)  # lists come from lookups

EVERY_ACTIVITY = "activities"
BY_CAMPAIGN = "activities_by_campaign"
BY_UNIT = "activities_by_unit"
AGGREGATE = Aggregate(COLLECTION, listed=lambda doc: {
    # The lists (servicekit.lookups): every activity, by campaign and by responsible unit.
    EVERY_ACTIVITY: [aggregates.EVERYTHING], BY_CAMPAIGN: [doc.get("campaign_id")],
    BY_UNIT: [doc.get("responsible_unit")]})



async def get(db: Database, activity_id: str) -> Document | None:
    return await aggregates.read(db, AGGREGATE, activity_id)


async def page(db: Database, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    """Lists, from the lookups (by campaign, else by responsible unit, else every activity)."""
    query: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
    return await aggregates.filtered_page(db, AGGREGATE, query, after=after, limit=limit,
                                          by={"campaign_id": BY_CAMPAIGN, "responsible_unit": BY_UNIT},
                                          everything=EVERY_ACTIVITY)
