"""The matchmaker: the trading worker scores the other side whenever a listing is published or a
demand posted (it consumes trading's own events), and records each suggestion once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from servicekit.consumer import EventHandlers
from servicekit.events.envelope import EVENT_TYPE_PREFIX, CloudEvent, ConsumedPayload
from servicekit.mongo import Database, Document

from trading.demands import store as demand_store
from trading.demands.domain import DemandStatus
from trading.listings import search_store
from trading.listings import store as listing_store
from trading.listings.domain import ListingStatus
from trading.listings.metrics import MATCH_METRICS
from trading.matching import store
from trading.matching.events import MatchSuggested
from trading.matching.facts import demand_facts, listing_facts
from trading.matching.scoring import listing_lookup_terms, score

TRADING_TOPIC = "trading.events"
SOURCE = "/ipo/trading"
MAX_CANDIDATES = 500  # listings scored per demand: the newest filed under its IPC codes or keywords


class ListingPublishedV1(ConsumedPayload):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.listing.published.v1"

    listing_id: str


class DemandPostedV1(ConsumedPayload):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.demand.posted.v1"

    demand_id: str


async def _suggest(db: Database, listing: Document, demand: Document) -> bool:
    if listing["owner_organisation_id"] == demand["organisation_id"]:
        return False  # an organisation's own patent is no news to it
    found = score(listing_facts(listing), demand_facts(demand))
    if found is None:
        return False
    now = datetime.now(UTC)
    mid = store.match_id(listing["_id"], demand["_id"])
    parties = list(dict.fromkeys(p for p in (listing["owner_organisation_id"], listing.get("agent_organisation_id"),
                                             demand["organisation_id"]) if p))
    doc: Document = {
        "_id": mid, "listing_id": listing["_id"], "demand_id": demand["_id"],
        "listing_title": listing["title"], "demand_title": demand["title"],
        "listing_owner_organisation_id": listing["owner_organisation_id"],
        "demand_organisation_id": demand["organisation_id"], "parties": parties,
        "score": found.score, "reasons": list(found.reasons), "suggested_at": now,
    }
    event = MatchSuggested(match_id=mid, listing_id=listing["_id"], demand_id=demand["_id"],
                           listing_owner_organisation_id=listing["owner_organisation_id"],
                           demand_organisation_id=demand["organisation_id"], score=found.score,
                           reasons=list(found.reasons), occurred_at=now)
    created = await store.insert_once(db, doc, CloudEvent.new(SOURCE, mid, event))
    if created:
        MATCH_METRICS.suggested.inc()
    return created


def demand_terms(doc: Document) -> list[str]:
    """Search terms under which a demand's candidate listings are filed (any of them)."""
    terms = [f"ipc:{code}" for code in doc.get("ipc_codes") or ()]
    terms += [f"kw:{t}" for t in demand_facts(doc).tokens]
    return terms


async def match_listing(db: Database, event: CloudEvent, payload: ListingPublishedV1) -> bool:
    if await store.run_done(db, event.id):
        return False
    listing = await listing_store.get(db, payload.listing_id)
    if listing is not None and listing["status"] == ListingStatus.PUBLISHED.value:
        # Only the demands filed under a term of the listing can score enough (scoring.demand_filing_terms).
        filed = await store.filed_demand_ids(db, listing_lookup_terms(listing_facts(listing)))
        for demand in await demand_store.get_many(db, filed):
            if demand["status"] == DemandStatus.OPEN.value:
                await _suggest(db, listing, demand)
    await store.mark_run_done(db, event.id)  # after the matches: a crash before it just re-runs them
    return True


async def match_demand(db: Database, event: CloudEvent, payload: DemandPostedV1) -> bool:
    if await store.run_done(db, event.id):
        return False
    demand = await demand_store.get(db, payload.demand_id)
    if demand is not None and demand["status"] == DemandStatus.OPEN.value:
        ids = await search_store.candidates(db, demand_terms(demand), MAX_CANDIDATES)
        for listing in await listing_store.get_many(db, ids):
            if listing["status"] == ListingStatus.PUBLISHED.value:
                await _suggest(db, listing, demand)
    await store.mark_run_done(db, event.id)
    return True


def register_handlers(handlers: EventHandlers) -> None:
    handlers.on(TRADING_TOPIC, ListingPublishedV1)(match_listing)
    handlers.on(TRADING_TOPIC, DemandPostedV1)(match_demand)
