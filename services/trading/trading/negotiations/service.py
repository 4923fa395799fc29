"""Use cases for negotiations: opening one with a first offer, counter-offers, answers, expiry and
signing, free of HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint, stale
from servicekit.mongo import Database, Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from trading.fairs import store as fair_store
from trading.fairs.domain import FairStatus
from trading.fairs.metrics import deal_metrics
from trading.listings import store as listings
from trading.listings.domain import PUBLIC_STATUSES, DealType, ListingTerms
from trading.negotiations import store
from trading.negotiations.domain import (
    ENDED,
    Action,
    NegotiationRuleError,
    NegotiationStatus,
    Side,
    after,
    is_expired,
    side_of,
)
from trading.negotiations.events import OfferAccepted, OfferEvent, OfferMade
from trading.negotiations.idempotency import remember, replayed
from trading.negotiations.models import CounterOffer, DealTerms, NegotiationCreate
from trading.negotiations.problems import invalid, not_found, rule_refused
from trading.organisations.projection import COLLECTION as ORGANISATIONS
from trading.organisations.projection import may_list_patents
from trading.talents.projection import agent_refusal
from trading.talents.projection import get as get_talent

SOURCE = "/ipo/trading"
LICENCE_TYPES = frozenset({DealType.EXCLUSIVE_LICENCE, DealType.SOLE_LICENCE, DealType.ORDINARY_LICENCE})


def _now() -> datetime:
    return datetime.now(UTC)


# --- checks that need the store --------------------------------------------------------------------


async def check_terms(db: Database, terms: DealTerms, listing: ListingTerms, where: str = "#/terms") -> DealTerms:
    """The offer's terms against the listing and the agent rule; returns them with the agent's
    organisation filled in from the talent's employer when only the talent was named."""
    if terms.deal_type is DealType.OPEN_LICENCE:
        raise invalid(f"{where}/deal_type", "an open licence is taken by notice at its published "
                      "terms, not negotiated (POST /v1/licences/open-licence-notices)")
    if terms.deal_type not in listing.deal_types:
        offered = ", ".join(d.value for d in listing.deal_types)
        raise invalid(f"{where}/deal_type", f"the listing does not offer {terms.deal_type.value} (it offers {offered})")
    if terms.deal_type in LICENCE_TYPES:
        if terms.term_start is None:
            raise invalid(f"{where}/term_start", "a licence needs the first day of its term")
        if terms.term_end is None:
            raise invalid(f"{where}/term_end", "a licence needs the last day of its term")
        if terms.term_end < terms.term_start:
            raise invalid(f"{where}/term_end", "the term ends before it starts")
        if terms.term_end > listing.expires_on:
            raise invalid(f"{where}/term_end",
                          f"the patent expires on {listing.expires_on}; a licence cannot outlast it")
    elif terms.term_start is not None or terms.term_end is not None:
        raise invalid(f"{where}/term_start", "an assignment transfers the whole patent and has no term")
    return await check_agent(db, terms, where)


async def check_agent(db: Database, terms: DealTerms, where: str = "#/terms") -> DealTerms:
    """An agent named on a deal must be an active patent agent or IP service talent (registry events)."""
    if terms.agent_talent_id is not None:
        talent = await get_talent(db, terms.agent_talent_id)
        refusal = agent_refusal(talent, terms.agent_talent_id)
        if refusal is not None:
            raise invalid(f"{where}/agent_talent_id", refusal)
        assert talent is not None
        employer = str(talent["employer_organisation_id"])
        if terms.agent_organisation_id not in (None, employer):
            raise invalid(f"{where}/agent_organisation_id",
                          f"talent {terms.agent_talent_id} works for {employer}, not {terms.agent_organisation_id}")
        return terms.model_copy(update={"agent_organisation_id": employer})
    if terms.agent_organisation_id is not None:
        organisation = await db[ORGANISATIONS].find_one({"_id": terms.agent_organisation_id})
        if not may_list_patents(organisation):
            raise invalid(f"{where}/agent_organisation_id",
                          f"{terms.agent_organisation_id} is not an active organisation known to trading")
    return terms


async def agent_still_eligible(db: Database, terms: DealTerms) -> DealTerms:
    """The agent rule at acceptance and signing, where the offer is no longer the caller's input: the
    registry may have suspended the agent since, which is a conflict with the state, not bad input."""
    try:
        return await check_agent(db, terms)
    except ProblemError as exc:
        detail = exc.errors[0]["detail"] if exc.errors else exc.detail
        raise rule_refused(f"The agent named on this deal may no longer act: {detail}.",
                           kind="agent-not-eligible") from exc


def _check_valid_until(valid_until: datetime, where: str = "#/valid_until") -> None:
    if valid_until <= _now():
        raise invalid(where, "an offer must be valid until a moment in the future")


async def _check_fair(db: Database, fair_id: str | None) -> None:
    if fair_id is None:
        return
    fair = await fair_store.get(db, fair_id)
    if fair is None or fair["status"] != FairStatus.OPEN.value:
        raise invalid("#/fair_id", f"{fair_id} is not a fair that is open now")


# --- events ----------------------------------------------------------------------------------------


def _offer_fields(doc: Document, offer: Document) -> dict[str, Any]:
    terms = offer["terms"]
    return {"negotiation_id": doc["_id"], "listing_id": doc["listing_id"],
            "application_number": doc["application_number"], "offer_number": offer["number"],
            "deal_type": terms["deal_type"], "owner_organisation_id": doc["owner_organisation_id"],
            "counterparty_organisation_id": doc["counterparty_organisation_id"],
            "made_by_organisation_id": offer["made_by_organisation_id"],
            "upfront_fee_fen": terms["upfront_fee_fen"], "royalty_rate_percent": Decimal(terms["royalty_rate_percent"]),
            "fair_id": doc.get("fair_id"), "occurred_at": _now()}


def _event(doc: Document, payload: OfferEvent) -> CloudEvent:
    return CloudEvent.new(SOURCE, doc["_id"], payload)


def _offer(number: int, side: Side, organisation_id: str, terms: DealTerms, valid_until: datetime) -> Document:
    return {"number": number, "made_by": side.value, "made_by_organisation_id": organisation_id,
            "terms": terms.model_dump(mode="json"), "valid_until": valid_until, "made_at": _now()}


# --- use cases -------------------------------------------------------------------------------------


async def open_negotiation(ctx: ServiceContext, data: NegotiationCreate, caller: Principal,
                           idempotency_key: str | None) -> tuple[Document, bool]:
    """A counterparty opens a negotiation on a published listing with its first offer."""
    organisation_id = str(caller.organisation_id)
    listing = await listings.listing_terms(ctx.db, data.listing_id)
    if listing is None or listing.status not in PUBLIC_STATUSES:
        raise invalid("#/listing_id", f"no published listing {data.listing_id}")
    if organisation_id in (listing.owner_organisation_id, listing.agent_organisation_id,
                           *listing.co_owner_organisation_ids):
        raise invalid("#/listing_id", "you are on the owner's side of this listing; an offer comes from someone else")
    organisation = await ctx.db[ORGANISATIONS].find_one({"_id": organisation_id})
    if not may_list_patents(organisation):
        raise ProblemError(403, "Forbidden", f"{organisation_id} is not an active organisation known to trading.",
                           kind="organisation-not-active")
    terms = await check_terms(ctx.db, data.terms, listing)
    _check_valid_until(data.valid_until)
    await _check_fair(ctx.db, data.fair_id)

    now = _now()
    body = data.model_dump(mode="json")
    offer = _offer(1, Side.COUNTERPARTY, organisation_id, terms, data.valid_until)
    doc: Document = {
        "_id": f"NEG-{uuid.uuid4().hex}", "listing_id": listing.listing_id,
        "application_number": listing.application_number, "patent_title": listing.title,
        "owner_organisation_id": listing.owner_organisation_id,
        "agent_organisation_id": listing.agent_organisation_id,
        "counterparty_organisation_id": organisation_id,
        "parties": sorted({listing.owner_organisation_id, organisation_id}
                          | ({listing.agent_organisation_id} if listing.agent_organisation_id else set())),
        "fair_id": data.fair_id, "status": NegotiationStatus.OPEN.value, "offers": [offer], "offer_count": 1,
        "current_offer_by": Side.COUNTERPARTY.value, "current_valid_until": data.valid_until, "deal": None,
        "version": 1, "created_at": now, "updated_at": now,
        "creation_key": creation_key(caller.subject, idempotency_key), "creation_fingerprint": fingerprint(body),
    }
    event = _event(doc, OfferMade(**_offer_fields(doc, offer), valid_until=data.valid_until))
    await store.note_deadline(ctx.db, doc["_id"], data.valid_until)  # a replayed create's own, or harmless
    stored_id, created = await aggregates.create_or_replay(ctx.db, store.AGGREGATE, doc, [event])
    if not created:
        return await _visible(ctx, stored_id, organisation_id), False
    await listings.mark_under_negotiation(ctx.db, listing.listing_id)
    _count_offer(terms.deal_type.value, accepted=False)
    return await _visible(ctx, doc["_id"], organisation_id), True


async def counter(ctx: ServiceContext, negotiation_id: str, data: CounterOffer, caller: Principal,
                  expected_version: int, digest: str | None) -> Document:
    organisation_id = str(caller.organisation_id)
    body = data.model_dump(mode="json")
    async with changing(ctx, negotiation_id) as unit:
        doc, side = await for_action(ctx, unit, organisation_id)
        if replayed(doc, digest, body):
            return _public(doc)
        # The rule first: "it expired / was accepted meanwhile" says more than "it changed" (412).
        _apply_rule(Action.COUNTER, doc, side)
        _at_version(doc, expected_version)
        await owner_unchanged(ctx.db, doc)
        listing = await listings.listing_terms(ctx.db, doc["listing_id"])
        if listing is None:
            raise rule_refused(f"the listing {doc['listing_id']} no longer exists")
        terms = await check_terms(ctx.db, data.terms, listing)
        _check_valid_until(data.valid_until)
        offer = _offer(len(doc["offers"]) + 1, side, organisation_id, terms, data.valid_until)
        event = _event(doc, OfferMade(**_offer_fields(doc, offer), valid_until=data.valid_until))
        changes = {"current_offer_by": side.value, "current_valid_until": data.valid_until, "updated_at": _now(),
                   **remember(digest, body)}
        await store.note_deadline(ctx.db, negotiation_id, data.valid_until)
        await _write(unit, store.change_update(changes, new_offer=offer), [event])
    _count_offer(terms.deal_type.value, accepted=False)
    return await _visible(ctx, negotiation_id, organisation_id)


async def owner_unchanged(db: Database, doc: Document) -> None:
    """A registered assignment moves the patent (and its listings) to the assignee. A negotiation begun
    with the former owner can then still be rejected or withdrawn, but no longer advanced to a deal:
    the former owner can no longer license or assign what it does not own."""
    listing = await listings.get(db, doc["listing_id"])
    if listing is not None and listing["owner_organisation_id"] != doc["owner_organisation_id"]:
        raise rule_refused(f"The patent {doc['application_number']} has changed hands since this negotiation "
                           f"began; its owner is now {listing['owner_organisation_id']}.", kind="owner-changed",
                           current_owner_organisation_id=listing["owner_organisation_id"])


async def answer(ctx: ServiceContext, negotiation_id: str, action: Action, caller: Principal,
                 expected_version: int, digest: str | None) -> Document:
    """Accept, reject or withdraw the current offer."""
    organisation_id = str(caller.organisation_id)
    body = {"action": action.value}
    async with changing(ctx, negotiation_id) as unit:
        doc, side = await for_action(ctx, unit, organisation_id)
        if replayed(doc, digest, body):
            return _public(doc)
        status = _apply_rule(action, doc, side)
        _at_version(doc, expected_version)
        events = []
        if action is Action.ACCEPT:
            await owner_unchanged(ctx.db, doc)
            offer = doc["offers"][-1]
            # The agent must still be in good standing at the moment of agreement.
            await agent_still_eligible(ctx.db, DealTerms.model_validate(offer["terms"]))
            events.append(_event(doc, OfferAccepted(**_offer_fields(doc, offer),
                                                    accepted_by_organisation_id=organisation_id)))
        changes = {"status": status.value, "updated_at": _now(), **remember(digest, body)}
        await _write(unit, store.change_update(changes), events)
        if status is not NegotiationStatus.OPEN:
            await store.drop_deadline(ctx.db, negotiation_id)
    if events:
        _count_offer(doc["offers"][-1]["terms"]["deal_type"], accepted=True)
    if status in ENDED:
        await reopen_listing_if_idle(ctx, doc["listing_id"])
    return await _visible(ctx, negotiation_id, organisation_id)


async def mark_signed(unit: aggregates.Change, deal: Document) -> None:
    """The deal exists: the negotiation is signed (in the signing use case's unit of work)."""
    await _write(unit, store.change_update({"status": NegotiationStatus.SIGNED.value, "deal": deal,
                                            "updated_at": _now()}), [])
    # After the write: a crash in between leaves a marker the sweep drops (the negotiation is signed).
    await store.mark_signing(unit, None)


async def expire_lapsed(ctx: ServiceContext) -> int:
    """The periodic sweep: open negotiations whose offer lapsed become expired."""
    expired = 0
    for negotiation_id in await store.lapsed_ids(ctx.db, _now()):
        async with changing(ctx, negotiation_id) as unit:
            if unit.document is not None and await _expire_if_lapsed(ctx, unit):
                expired += 1
            if unit.document is None or unit.document["status"] != NegotiationStatus.OPEN.value:
                await store.drop_deadline(ctx.db, negotiation_id)
    return expired


async def _expire_if_lapsed(ctx: ServiceContext, unit: aggregates.Change) -> bool:
    """Apply expiry to the negotiation of an open unit of work; True when it expired now."""
    doc = unit.document
    assert doc is not None
    if not is_expired(NegotiationStatus(doc["status"]), doc["current_valid_until"], _now()):
        return False
    try:
        await unit.write(store.change_update({"status": NegotiationStatus.EXPIRED.value, "updated_at": _now()}))
    except aggregates.StaleVersion:
        return False  # another replica changed it meanwhile: it decides
    doc["status"] = NegotiationStatus.EXPIRED.value
    await reopen_listing_if_idle(ctx, doc["listing_id"])
    return True


@asynccontextmanager
async def changing(ctx: ServiceContext, negotiation_id: str) -> AsyncIterator[aggregates.Change]:
    """A unit of work on one negotiation (with its action keys, for replay detection)."""
    async with aggregates.change(ctx.db, store.AGGREGATE, negotiation_id, keep=("action_keys",)) as unit:
        yield unit


async def _write(unit: aggregates.Change, update: dict[str, dict[str, Any]], events: list[CloudEvent]) -> None:
    try:
        await unit.write(update, events)
    except aggregates.StaleVersion as moved:
        raise stale(moved.current_version or 0) from None


async def reopen_listing_if_idle(ctx: ServiceContext, listing_id: str) -> None:
    """Back into the search once no negotiation on the listing is open any more."""
    if await store.open_on_listing(ctx.db, listing_id) == 0:
        await listings.reopen_after_negotiation(ctx.db, listing_id)


async def for_party(ctx: ServiceContext, negotiation_id: str, organisation_id: str | None) -> tuple[Document, Side]:
    """The negotiation as one of its two parties sees it (expiry applied first); 404 for anyone else."""
    doc = await store.get(ctx.db, negotiation_id, with_keys=True)
    side = side_in(doc, organisation_id)
    if doc is None or side is None:
        raise not_found("negotiation", negotiation_id)
    if is_expired(NegotiationStatus(doc["status"]), doc["current_valid_until"], _now()):
        async with changing(ctx, negotiation_id) as unit:
            if unit.document is not None:
                await _expire_if_lapsed(ctx, unit)
                doc = unit.document
    return doc, side


async def for_action(ctx: ServiceContext, unit: aggregates.Change, organisation_id: str) -> tuple[Document, Side]:
    """Like for_party, inside a unit of work on the negotiation (expiry applied first)."""
    doc = unit.document
    side = side_in(doc, organisation_id)
    if doc is None or side is None:
        raise not_found("negotiation", unit.doc_id)
    await _expire_if_lapsed(ctx, unit)
    return doc, side


def side_in(doc: Document | None, organisation_id: str | None) -> Side | None:
    if doc is None:
        return None
    return side_of(organisation_id, doc["owner_organisation_id"], doc.get("agent_organisation_id"),
                   doc["counterparty_organisation_id"])


def _at_version(doc: Document, expected_version: int) -> None:
    if doc["version"] != expected_version:
        raise stale(doc["version"])


def _apply_rule(action: Action, doc: Document, side: Side) -> NegotiationStatus:
    try:
        return after(action, NegotiationStatus(doc["status"]), side, Side(doc["current_offer_by"]))
    except NegotiationRuleError as exc:
        raise rule_refused(str(exc), kind="negotiation-rule") from exc


def apply_sign_rule(doc: Document, side: Side) -> None:
    _apply_rule(Action.SIGN, doc, side)


def accepted_terms(doc: Document) -> DealTerms:
    return DealTerms.model_validate(doc["offers"][-1]["terms"])


def _public(doc: Document) -> Document:
    return {k: v for k, v in doc.items() if k != "action_keys"}


async def _visible(ctx: ServiceContext, negotiation_id: str, organisation_id: str) -> Document:
    doc, _ = await for_party(ctx, negotiation_id, organisation_id)
    return _public(doc)


async def page(ctx: ServiceContext, organisation_id: str, status: NegotiationStatus | None, after_id: str | None,
               limit: int) -> list[Document]:
    return await store.page_for(ctx.db, organisation_id, status.value if status else None, after_id, limit)


def signed_on_or_today(signed_on: date | None) -> date:
    today = _now().date()
    if signed_on is not None and signed_on > today:
        raise invalid("#/signed_on", "a contract cannot be signed in the future")
    return signed_on or today


def _count_offer(deal_type: str, *, accepted: bool) -> None:
    metrics = deal_metrics()
    (metrics.offers_accepted if accepted else metrics.offers_made).labels(deal_type).inc()
