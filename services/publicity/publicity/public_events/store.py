"""Store access for public events: the one place that knows their documents.

- `public_events`: one document per event; `registrations` maps registration id -> {places, state, seq}
  (the truth about who holds a place), `counts` mirrors the figures; changed only through the unit of
  work, so registrations, cancellations and promotions are serialised per event;
- `registrations`: one document per registration (`_id` = an unguessable id, which is also the
  registrant's link): contact data, the ticket code, the check-in. Written BEFORE the event's change
  that admits it, so a crash in between leaves an unreferenced document, never a place without a
  registrant;
- `tickets`: `_id` = ticket code -> registration and event (a scan is `_id` reads only);
- `scans`: `_id` = the scanning device's nonce, so a retried scan is one scan;
- `checkin_counts`: `_id` = event id, `$inc` per successful check-in.
"""

from __future__ import annotations

from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "public_events"
REGISTRATIONS = "registrations"
TICKETS = "tickets"
SCANS = "scans"
CHECKIN_COUNTS = "checkin_counts"

# Lists come from lookups; the scans of an event (the reconciliation report) from their index on MongoDB.
INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
           IndexSpec(REGISTRATIONS, (("creation_key", 1),), unique=True),
           IndexSpec(SCANS, (("event_id", 1), ("server_time", 1))))

EVERY_EVENT = "public_events"
BY_CAMPAIGN = "public_events_by_campaign"
BY_EVENT = "registrations_by_event"
AGGREGATE = Aggregate(COLLECTION, listed=lambda doc: {
    # The lists (servicekit.lookups): every event, and a campaign's.
    EVERY_EVENT: [aggregates.EVERYTHING], BY_CAMPAIGN: [doc.get("campaign_id")]})
REGISTRATION = Aggregate(REGISTRATIONS, listed=lambda doc: {BY_EVENT: [doc.get("event_id")]})



async def get(db: Database, event_id: str) -> Document | None:
    return await aggregates.read(db, AGGREGATE, event_id)


async def page(db: Database, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    return await aggregates.filtered_page(db, AGGREGATE, filters, after=after, limit=limit,
                                          by={"campaign_id": BY_CAMPAIGN}, everything=EVERY_EVENT,
                                          projection={**AGGREGATE.hidden(), "registrations": 0})


async def registration(db: Database, registration_id: str) -> Document | None:
    return await aggregates.read(db, REGISTRATION, registration_id)


async def registrations_of(db: Database, event_id: str, after: str | None, limit: int) -> list[Document]:
    """The organisers' list (the event's lookup of registrations)."""
    return await aggregates.listed(db, REGISTRATION, BY_EVENT, event_id, limit=limit, after=after)


async def scans_of(db: Database, event_id: str) -> list[Document]:
    """Every scan of an event, for the organisers' reconciliation report (a filtered scan on FerretDB)."""
    return [d async for d in db[SCANS].find({"event_id": event_id}).sort("server_time", 1)]


async def checked_in(db: Database, event_id: str) -> int:
    doc = await db[CHECKIN_COUNTS].find_one({"_id": event_id})
    return int(doc["count"]) if doc else 0
