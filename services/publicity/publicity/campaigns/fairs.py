"""Publicity's projection of trading's fairs, fed only by trading's fair events (worker).

A campaign's page lists the fairs whose dates fall inside it, and a closed fair's final figures move
the campaign's totals. Each event is applied once (`apply_once`) and only when it is a later stage
than the one held (opened 1, closed 2), so a redelivered or late `fair.opened` never undoes a close.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from servicekit.consumer import EventHandlers
from servicekit.events.envelope import EVENT_TYPE_PREFIX, CloudEvent, ConsumedPayload
from servicekit.mongo import Database, Document, apply_once

from publicity.common import now

COLLECTION = "fairs"
TRADING_TOPIC = "trading.events"


class FairEventV1(ConsumedPayload):
    fair_id: str
    name: str
    venue: str
    region_code: str
    starts_on: date
    ends_on: date
    occurred_at: datetime


class FairOpenedV1(FairEventV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.fair.opened.v1"


class FairClosedV1(FairEventV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.fair.closed.v1"

    listings_shown: int
    offers: int
    licences: int
    transfers: int
    pledges: int
    total_amount_fen: int


async def all_fairs(db: Database) -> list[Document]:
    """Every projected fair: a few a year, so a campaign page reads them all (see store_scans.py)."""
    return [d async for d in db[COLLECTION].find({}, {"applied_events": 0})]


async def project(db: Database, event: CloudEvent, payload: FairEventV1) -> bool:
    closed = isinstance(payload, FairClosedV1)
    fields: dict[str, object] = {
        "name": payload.name, "venue": payload.venue, "region_code": payload.region_code,
        "starts_on": payload.starts_on.isoformat(), "ends_on": payload.ends_on.isoformat(),
        "status": "closed" if closed else "open", "stage": 2 if closed else 1,
        "occurred_at": payload.occurred_at, "projected_at": now(),
    }
    if isinstance(payload, FairClosedV1):
        fields["figures"] = {"listings_shown": payload.listings_shown, "offers": payload.offers,
                             "licences": payload.licences, "transfers": payload.transfers,
                             "pledges": payload.pledges, "total_amount_fen": payload.total_amount_fen}
    return await apply_once(db[COLLECTION], payload.fair_id, event.id, {"$set": fields},
                            newer_than=("stage", 2 if closed else 1))


def register_handlers(handlers: EventHandlers) -> None:
    for payload in (FairOpenedV1, FairClosedV1):
        handlers.on(TRADING_TOPIC, payload)(project)
