"""Use cases for pledges: request by the owner, consent of every co-owner, registration, release."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal, Role
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint, stale
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from trading.fairs import store as fair_store
from trading.fairs.domain import FairStatus
from trading.fairs.metrics import deal_metrics
from trading.licences import register
from trading.listings import store as listings
from trading.negotiations.idempotency import remember, replayed
from trading.negotiations.parties import is_staff
from trading.negotiations.problems import busy, invalid, not_found, rule_refused
from trading.organisations.projection import COLLECTION as ORGANISATIONS
from trading.organisations.projection import may_list_patents
from trading.patents import service as patents
from trading.pledges import store
from trading.pledges.domain import (
    PledgeRuleError,
    PledgeStatus,
    check_consent,
    check_registrable,
    check_releasable,
)
from trading.pledges.events import PledgeRegistered, PledgeReleased
from trading.pledges.models import PledgeCreate, PledgeRegistration

SOURCE = "/ipo/trading"


def _now() -> datetime:
    return datetime.now(UTC)


async def request(ctx: ServiceContext, data: PledgeCreate, caller: Principal,
                  idempotency_key: str | None) -> tuple[Document, bool]:
    """The owner (or its agent) asks to pledge the patent of one of its listings."""
    listing = await listings.listing_terms(ctx.db, data.listing_id)
    if listing is None or caller.organisation_id not in (listing.owner_organisation_id,
                                                         listing.agent_organisation_id):
        raise invalid("#/listing_id", f"no listing {data.listing_id} of yours")
    await patents.require_owner(ctx.db, listing.application_number, listing.owner_organisation_id, "pledged by it")
    if not may_list_patents(await ctx.db[ORGANISATIONS].find_one({"_id": data.pledgee_organisation_id})):
        raise invalid("#/pledgee_organisation_id",
                      f"{data.pledgee_organisation_id} is not an active organisation known to trading")
    if data.fair_id is not None:
        fair = await fair_store.get(ctx.db, data.fair_id)
        if fair is None or fair["status"] != FairStatus.OPEN.value:
            raise invalid("#/fair_id", f"{data.fair_id} is not a fair that is open now")
    now = _now()
    body = data.model_dump(mode="json")
    co_owners = sorted(listing.co_owner_organisation_ids)
    doc: Document = {
        "_id": f"PLG-{uuid.uuid4().hex}", "listing_id": listing.listing_id,
        "application_number": listing.application_number, "patent_title": listing.title,
        "pledgor_organisation_id": listing.owner_organisation_id, "co_owner_organisation_ids": co_owners,
        "pledgee_organisation_id": data.pledgee_organisation_id,
        "parties": sorted({listing.owner_organisation_id, data.pledgee_organisation_id, *co_owners}
                          | ({listing.agent_organisation_id} if listing.agent_organisation_id else set())),
        "amount_fen": data.amount_fen, "loan_due_on": body["loan_due_on"], "consents": {},
        "status": PledgeStatus.REQUESTED.value, "registered_on": None, "released_on": None, "reference": None,
        "fair_id": data.fair_id, "version": 1, "created_at": now, "updated_at": now,
        "creation_key": creation_key(caller.subject, idempotency_key), "creation_fingerprint": fingerprint(body),
    }
    stored_id, created = await aggregates.create_or_replay(ctx.db, store.AGGREGATE, doc)
    return await find(ctx, stored_id, caller), created


def may_see(doc: Document, caller: Principal) -> bool:
    return is_staff(caller) or (caller.organisation_id is not None and caller.organisation_id in doc["parties"])


async def find(ctx: ServiceContext, pledge_id: str, caller: Principal) -> Document:
    """For its parties, IPO staff, and the patent's verified owner (who sees every deal recorded on it)."""
    doc = await store.get(ctx.db, pledge_id)
    if doc is None or not (may_see(doc, caller)
                           or await patents.is_owner(ctx.db, doc["application_number"], caller.organisation_id)):
        raise not_found("pledge", pledge_id)
    return doc


def _rule(check: Callable[[], None]) -> None:
    try:
        check()
    except PledgeRuleError as exc:
        raise rule_refused(str(exc), kind="pledge-rule") from exc


def _on(value: date | None, earliest: str) -> date:
    on = value or _now().date()
    if on > _now().date() or on < datetime.fromisoformat(earliest).date():
        raise invalid("#/on", "must lie between the request and today")
    return on


def _event_fields(doc: Document) -> dict[str, Any]:
    return {"pledge_id": doc["_id"], "listing_id": doc["listing_id"], "application_number": doc["application_number"],
            "patent_title": doc["patent_title"], "pledgor_organisation_id": doc["pledgor_organisation_id"],
            "pledgee_organisation_id": doc["pledgee_organisation_id"], "amount_fen": doc["amount_fen"],
            "fair_id": doc.get("fair_id"), "occurred_at": _now()}


async def consent(ctx: ServiceContext, pledge_id: str, caller: Principal, expected_version: int,
                  digest: str | None) -> Document:
    """A co-owner consents to the pledge (its token's organisation)."""
    organisation_id = str(caller.organisation_id)
    body = {"consent": organisation_id}
    async with aggregates.change(ctx.db, store.AGGREGATE, pledge_id, keep=("action_keys",)) as unit:
        doc = unit.document
        if doc is None or not may_see(doc, caller):
            raise not_found("pledge", pledge_id)
        if not replayed(doc, digest, body):
            if doc["version"] != expected_version:
                raise stale(doc["version"])
            _rule(lambda: check_consent(PledgeStatus(doc["status"]), doc["co_owner_organisation_ids"],
                                        organisation_id))
            await unit.write({"$set": {f"consents.{organisation_id}": _now(), "updated_at": _now(),
                                       **remember(digest, body)}})
    return await find(ctx, pledge_id, caller)


async def register_pledge(ctx: ServiceContext, pledge_id: str, data: PledgeRegistration, caller: Principal,
                          expected_version: int, digest: str | None) -> Document:
    """An officer registers the pledge once every co-owner consented; from then on it blocks transfers.

    The per-patent register gets the pledge first, so it blocks transfers before it is announced; a
    retry after a crash in between finds it there and finishes."""
    body = data.model_dump(mode="json")
    async with aggregates.change(ctx.db, store.AGGREGATE, pledge_id, keep=("action_keys",)) as unit:
        doc = unit.document
        if doc is None:
            raise not_found("pledge", pledge_id)
        if not replayed(doc, digest, body):
            if doc["version"] != expected_version:
                raise stale(doc["version"])
            _rule(lambda: check_registrable(PledgeStatus(doc["status"]), doc["co_owner_organisation_ids"],
                                            doc["consents"]))
            await patents.require_owner(ctx.db, doc["application_number"], doc["pledgor_organisation_id"],
                                        "pledged by it")
            on = _on(data.on, doc["created_at"].isoformat())
            try:
                await register.add_pledge(ctx.db, doc["application_number"], pledge_id, doc["amount_fen"])
            except register.RegisterBusy as exc:
                raise busy() from exc
            event = CloudEvent.new(SOURCE, pledge_id, PledgeRegistered(**_event_fields(doc), registered_on=on))
            changes = {"status": PledgeStatus.REGISTERED.value, "registered_on": on.isoformat(),
                       "reference": data.reference, "updated_at": _now(), **remember(digest, body)}
            await unit.write({"$set": changes}, [event])
            deal_metrics().pledges_registered.inc()
    return await find(ctx, pledge_id, caller)


async def release(ctx: ServiceContext, pledge_id: str, data: PledgeRegistration, caller: Principal,
                  expected_version: int, digest: str | None) -> Document:
    """An officer or the pledgee releases a registered pledge. The pledge is marked released first and
    leaves the register after, so the patent stays blocked until both happened (a retry finishes)."""
    body = data.model_dump(mode="json")
    async with aggregates.change(ctx.db, store.AGGREGATE, pledge_id, keep=("action_keys",)) as unit:
        doc = unit.document
        if doc is None or not may_see(doc, caller):
            raise not_found("pledge", pledge_id)
        if not (caller.has_any([Role.OFFICER]) or caller.organisation_id == doc["pledgee_organisation_id"]):
            raise ProblemError(403, "Forbidden", "A pledge is released by the pledgee or an IPO officer.",
                               kind="forbidden")
        if not replayed(doc, digest, body) and doc["status"] != PledgeStatus.RELEASED.value:
            if doc["version"] != expected_version:
                raise stale(doc["version"])
            _rule(lambda: check_releasable(PledgeStatus(doc["status"])))
            on = _on(data.on, doc["registered_on"])
            event = CloudEvent.new(SOURCE, pledge_id, PledgeReleased(**_event_fields(doc), released_on=on))
            changes = {"status": PledgeStatus.RELEASED.value, "released_on": on.isoformat(), "updated_at": _now(),
                       **remember(digest, body)}
            await unit.write({"$set": changes}, [event])
            deal_metrics().pledges_released.inc()
    try:
        await register.remove_pledge(ctx.db, doc["application_number"], pledge_id)
    except register.RegisterBusy as exc:
        raise busy() from exc
    return await find(ctx, pledge_id, caller)


