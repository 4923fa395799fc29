"""Store access for public events: the one place that knows their documents.

- `public_events`: one document per event; `registrations` maps registration id -> {places, state, seq}
  (the truth about who holds a place), `counts` mirrors the figures; changed only through the unit of
  work, so registrations, cancellations and promotions are serialised per event;
- `registrations`: one document per registration (`_id` = an unguessable id, which is also the
  registrant's link): contact data, the ticket code, a copy of its state (`state`, see domain.py) and
  the check-in. Written BEFORE the event's change that admits it, so a crash in between leaves an
  unreferenced document, never a place without a registrant. A check-in is a change of this document
  alone (servicekit.aggregates), and the event's check-in count is a tally kept with that same change
  (`event:<id>` / `check_ins`, servicekit.tallies; `python -m publicity recount-tallies` repairs it);
- `tickets`: `_id` = ticket code -> registration and event (a scan is `_id` reads only);
- `scans`: `_id` = the scanning device's nonce, so a retried scan is one scan (created through the seam).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from servicekit import aggregates, tallies
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "public_events"
REGISTRATIONS = "registrations"
TICKETS = "tickets"
SCANS = "scans"

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
CHECK_INS = "check_ins"


def event_tally(event_id: str) -> str:
    return f"event:{tallies.key(event_id)}"


def _counted(doc: Document) -> dict[str, dict[str, int]]:
    """A registration counts once in its event's check-ins once it is checked in."""
    return {event_tally(doc["event_id"]): {CHECK_INS: 1 if doc.get("checked_in") else 0}}


REGISTRATION = Aggregate(REGISTRATIONS, tallied=_counted, listed=lambda doc: {BY_EVENT: [doc.get("event_id")]})
SCAN = Aggregate(SCANS)

# Who organises an event never changes after it is planned (no route changes `organisers`), so a scan
# learns it from memory instead of reading the event document (which holds every registration's entry).
_ORGANISERS: OrderedDict[str, frozenset[str]] = OrderedDict()
_ORGANISERS_KEPT = 1024

async def get(db: Database, event_id: str) -> Document | None:
    return await aggregates.read(db, AGGREGATE, event_id)


async def page(db: Database, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    return await aggregates.filtered_page(db, AGGREGATE, filters, after=after, limit=limit,
                                          by={"campaign_id": BY_CAMPAIGN}, everything=EVERY_EVENT,
                                          projection={**AGGREGATE.hidden(), "registrations": 0})


async def organisers(db: Database, event_id: str) -> frozenset[str] | None:
    """The event's organisers (None: no such event), remembered per process. Scans that miss together
    share one read: the gates of an event start at once, and each read decodes the whole event document
    on FerretDB (tens of milliseconds at 5,000 registrations), which made every gate's first scans wait
    (tests/benchmarks/checkin.py)."""
    known = _ORGANISERS.get(event_id)
    if known is not None:
        _ORGANISERS.move_to_end(event_id)
        return known
    loading = _LOADING.get(event_id)
    if loading is None:
        loading = asyncio.ensure_future(_load_organisers(db, event_id))
        _LOADING[event_id] = loading
        loading.add_done_callback(lambda _: _LOADING.pop(event_id, None))
    # Shielded: a caller that gives up does not cancel the read the others wait for.
    return await asyncio.shield(loading)


_LOADING: dict[str, asyncio.Future[frozenset[str] | None]] = {}


async def _load_organisers(db: Database, event_id: str) -> frozenset[str] | None:
    doc = await db[COLLECTION].find_one({"_id": event_id}, {"organisers": 1})
    if doc is None:
        return None
    known = frozenset(doc.get("organisers") or [])
    _ORGANISERS[event_id] = known
    while len(_ORGANISERS) > _ORGANISERS_KEPT:
        _ORGANISERS.popitem(last=False)
    return known


async def entry(db: Database, event_id: str, registration_id: str) -> dict[str, Any] | None:
    """One registration's entry in the event document (the truth about its place). Reads the whole
    event document on FerretDB, projection or not: only for a registration whose own copy is unsettled."""
    event = await db[COLLECTION].find_one({"_id": event_id}, {f"registrations.{registration_id}": 1})
    found = ((event or {}).get("registrations") or {}).get(registration_id)
    return dict(found) if found is not None else None


async def scan(db: Database, nonce: str) -> Document | None:
    return await aggregates.read(db, SCAN, nonce)


async def ticket(db: Database, code: str) -> Document | None:
    return await db[TICKETS].find_one({"_id": code})


async def registration(db: Database, registration_id: str) -> Document | None:
    return await aggregates.read(db, REGISTRATION, registration_id)


async def registrations_of(db: Database, event_id: str, after: str | None, limit: int) -> list[Document]:
    """The organisers' list (the event's lookup of registrations)."""
    return await aggregates.listed(db, REGISTRATION, BY_EVENT, event_id, limit=limit, after=after)


async def scans_of(db: Database, event_id: str) -> list[Document]:
    """Every scan of an event, for the organisers' reconciliation report (a filtered scan on FerretDB)."""
    return [d async for d in db[SCANS].find({"event_id": event_id}).sort("server_time", 1)]


async def checked_in(db: Database, event_id: str) -> int:
    """The event's check-ins (its tally, one `_id` read)."""
    return tallies.amount(await tallies.read(db, event_tally(event_id)), CHECK_INS)
