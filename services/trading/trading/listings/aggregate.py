"""What the kit's unit of work (servicekit.aggregates) needs to know about a listing document.

Its own module because both the listings store and the search read model write listings (the read
model stamps what it filed back on the listing), and the store imports the read model.
"""

from __future__ import annotations

from servicekit.aggregates import Aggregate
from servicekit.mongo import Document

COLLECTION = "listings"

# Never returned to callers: bookkeeping of the outbox, idempotency and the search read model.
INTERNAL_FIELDS = ("search_seq", "search_terms", "search_price", "search_pending", "search_layout")

# "My listings": an organisation's listings as owner or as its agent (servicekit.lookups).
BY_ORGANISATION = "listings_by_organisation"


def _lists(doc: Document) -> dict[str, list[str | None]]:
    return {BY_ORGANISATION: [doc.get("owner_organisation_id"), doc.get("agent_organisation_id")]}


LISTING = Aggregate(COLLECTION, internal_fields=INTERNAL_FIELDS, listed=_lists)
