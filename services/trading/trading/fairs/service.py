"""Use cases for fairs: planning, opening and closing, exhibitors and the listings they show."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint, stale
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from trading.fairs import store
from trading.fairs.domain import FairRuleError, FairStatus, check_close, check_dates, check_joinable, check_open
from trading.fairs.events import FairClosed, FairEvent, FairOpened
from trading.fairs.models import ExhibitAdd, ExhibitorAdd, FairCreate
from trading.fairs.statistics import statistics
from trading.listings import store as listings
from trading.negotiations.idempotency import remember, replayed
from trading.negotiations.parties import is_staff
from trading.negotiations.problems import invalid, not_found, rule_refused
from trading.organisations.projection import COLLECTION as ORGANISATIONS
from trading.organisations.projection import may_list_patents

SOURCE = "/ipo/trading"


def _now() -> datetime:
    return datetime.now(UTC)


def _rule(check: Callable[[], None]) -> None:
    try:
        check()
    except FairRuleError as exc:
        raise rule_refused(str(exc), kind="fair-rule") from exc


async def plan(ctx: ServiceContext, data: FairCreate, caller: Principal,
               idempotency_key: str | None) -> tuple[Document, bool]:
    try:
        check_dates(data.starts_on, data.ends_on)
    except FairRuleError as exc:
        raise invalid("#/ends_on", str(exc)) from exc
    now = _now()
    body = data.model_dump(mode="json")
    doc: Document = {
        "_id": f"FAIR-{uuid.uuid4().hex[:16]}", **body, "status": FairStatus.PLANNED.value,
        "exhibitors": {}, "shown_listings": {}, "version": 1, "created_at": now, "updated_at": now,
        "creation_key": creation_key(caller.subject, idempotency_key), "creation_fingerprint": fingerprint(body),
    }
    stored_id, created = await aggregates.create_or_replay(ctx.db, store.AGGREGATE, doc)
    return await find(ctx, stored_id), created


async def find(ctx: ServiceContext, fair_id: str) -> Document:
    doc = await store.get(ctx.db, fair_id)
    if doc is None:
        raise not_found("fair", fair_id)
    return doc


def _fair_event(doc: Document) -> dict[str, Any]:
    return {"fair_id": doc["_id"], "name": doc["name"], "venue": doc["venue"], "region_code": doc["region_code"],
            "starts_on": date.fromisoformat(doc["starts_on"]), "ends_on": date.fromisoformat(doc["ends_on"]),
            "occurred_at": _now()}


async def change_status(ctx: ServiceContext, fair_id: str, to: FairStatus, expected_version: int,
                        digest: str | None) -> Document:
    """Open or close the fair (IPO staff), with its event in the same update."""
    body = {"status": to.value}
    async with aggregates.change(ctx.db, store.AGGREGATE, fair_id, keep=("action_keys",)) as unit:
        doc = unit.document
        if doc is None:
            raise not_found("fair", fair_id)
        if replayed(doc, digest, body):
            return await find(ctx, fair_id)
        if doc["version"] != expected_version:
            raise stale(doc["version"])
        status = FairStatus(doc["status"])
        event: FairEvent
        if to is FairStatus.OPEN:
            _rule(lambda: check_open(status, date.fromisoformat(doc["ends_on"]), _now().date()))
            event = FairOpened(**_fair_event(doc))
        else:
            _rule(lambda: check_close(status))
            figures = await statistics(ctx.db, doc)
            event = FairClosed(**_fair_event(doc), listings_shown=figures["listings_shown"], offers=figures["offers"],
                               licences=figures["licences"]["count"], transfers=figures["transfers"]["count"],
                               pledges=figures["pledges"]["count"], total_amount_fen=figures["total_amount_fen"])
        changes = {"status": to.value, "updated_at": _now(), **remember(digest, body)}
        await unit.write({"$set": changes}, [CloudEvent.new(SOURCE, fair_id, event)])
    return await find(ctx, fair_id)


async def add_exhibitor(ctx: ServiceContext, fair_id: str, data: ExhibitorAdd, caller: Principal) -> Document:
    """IPO staff, or the organisation itself, signs it up as an exhibitor. Adding an exhibitor twice
    changes nothing (a map keyed by organisation), so a retry is harmless and no If-Match is asked:
    exhibitors joining at the same time must not make each other fail."""
    if not (is_staff(caller) or caller.organisation_id == data.organisation_id):
        raise ProblemError(403, "Forbidden", "An organisation signs itself up, or IPO staff sign it up.",
                           kind="forbidden")
    if not may_list_patents(await ctx.db[ORGANISATIONS].find_one({"_id": data.organisation_id})):
        raise invalid("#/organisation_id", f"{data.organisation_id} is not an active organisation known to trading")
    async with _changing(ctx, fair_id) as (unit, doc):
        _rule(lambda: check_joinable(FairStatus(doc["status"])))
        if data.organisation_id not in doc["exhibitors"]:
            await unit.write({"$set": {f"exhibitors.{data.organisation_id}": {"joined_at": _now()},
                                       "updated_at": _now()}})
    return await find(ctx, fair_id)


async def show_listing(ctx: ServiceContext, fair_id: str, data: ExhibitAdd, caller: Principal) -> Document:
    """The listing's owner side shows one of its published listings at a fair it exhibits at."""
    listing = await listings.listing_terms(ctx.db, data.listing_id)
    if listing is None or caller.organisation_id not in (listing.owner_organisation_id,
                                                         listing.agent_organisation_id):
        raise invalid("#/listing_id", f"no listing {data.listing_id} of yours")
    if listing.status.value not in ("published", "under_negotiation"):
        raise invalid("#/listing_id", f"the listing is {listing.status.value}; only published listings are shown")
    async with _changing(ctx, fair_id) as (unit, doc):
        _rule(lambda: check_joinable(FairStatus(doc["status"])))
        if listing.owner_organisation_id not in doc["exhibitors"] and caller.organisation_id not in doc["exhibitors"]:
            raise rule_refused(f"{caller.organisation_id} does not exhibit at {fair_id}; join it first",
                               kind="not-an-exhibitor")
        if data.listing_id not in doc["shown_listings"]:
            await unit.write({"$set": {f"shown_listings.{data.listing_id}": {
                "organisation_id": listing.owner_organisation_id, "shown_at": _now()}, "updated_at": _now()}})
    return await find(ctx, fair_id)


@asynccontextmanager
async def _changing(ctx: ServiceContext, fair_id: str) -> AsyncIterator[tuple[aggregates.Change, Document]]:
    async with aggregates.change(ctx.db, store.AGGREGATE, fair_id) as unit:
        if unit.document is None:
            raise not_found("fair", fair_id)
        yield unit, unit.document


async def figures(ctx: ServiceContext, fair_id: str) -> dict[str, Any]:
    return await statistics(ctx.db, await find(ctx, fair_id))
