"""HTTP routes for negotiations: thin, they translate between HTTP and the use cases.

Every action on a negotiation is a POST on it with `If-Match` (412 when someone acted meanwhile) and
an optional `Idempotency-Key` (a retry gets the state the first attempt produced).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from servicekit.http import (
    IdempotencyKeyHeader,
    expected_version,
    id_after,
    mark_created,
    next_page,
    set_etag,
)
from servicekit.mongo import Document
from servicekit.routing import Context, IfMatch, Pagination
from servicekit.service import ServiceContext

from trading.negotiations import consent, service, signing
from trading.negotiations.domain import Action, NegotiationStatus, Side
from trading.negotiations.idempotency import action_digest
from trading.negotiations.models import (
    CounterOffer,
    DealRef,
    NegotiationCreate,
    NegotiationPage,
    NegotiationRead,
    OfferRead,
    PublicityConsentStatement,
    Signature,
)
from trading.negotiations.parties import Participant

router = APIRouter(prefix="/v1/negotiations", tags=["negotiations"])


def _offer(offer: dict[str, Any]) -> OfferRead:
    return OfferRead.model_validate(offer)


def _read(doc: Document, organisation_id: str | None) -> NegotiationRead:
    side = service.side_in(doc, organisation_id) or Side.COUNTERPARTY
    offers = [_offer(o) for o in doc["offers"]]
    return NegotiationRead(
        id=doc["_id"], listing_id=doc["listing_id"], application_number=doc["application_number"],
        patent_title=doc["patent_title"], owner_organisation_id=doc["owner_organisation_id"],
        agent_organisation_id=doc.get("agent_organisation_id"),
        counterparty_organisation_id=doc["counterparty_organisation_id"], fair_id=doc.get("fair_id"),
        status=doc["status"], your_side=side, offers=offers, current_offer=offers[-1],
        deal=DealRef.model_validate(doc["deal"]) if doc.get("deal") else None,
        publicity_consent=doc.get("publicity_consent") or {}, version=doc["version"],
        created_at=doc["created_at"], updated_at=doc["updated_at"])


def _answer(response: Response, doc: Document, organisation_id: str | None) -> NegotiationRead:
    set_etag(response, doc["version"])
    return _read(doc, organisation_id)


def _digest(caller: Participant, key: str | None, action: str, negotiation_id: str) -> str | None:
    return action_digest(caller.subject, key, f"{action}:{negotiation_id}") if key else None


@router.post("", status_code=201, response_model=NegotiationRead,
             responses={404: {"description": "No such listing"}, 422: {"description": "Invalid offer"}})
async def open_negotiation(data: NegotiationCreate, ctx: Context, caller: Participant, response: Response,
                           idempotency_key: IdempotencyKeyHeader = None) -> NegotiationRead:
    """Open a negotiation on a published listing with a first offer (the caller's organisation is the
    counterparty)."""
    doc, created = await service.open_negotiation(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/negotiations/{doc['_id']}", created)
    return _answer(response, doc, caller.organisation_id)


@router.get("", response_model=NegotiationPage)
async def list_negotiations(ctx: Context, page: Pagination, caller: Participant,
                            status: NegotiationStatus | None = None) -> NegotiationPage:
    """The caller's organisation's negotiations, on either side."""
    after = id_after(page.cursor)
    docs = await service.page(ctx, str(caller.organisation_id), status, after, page.limit + 1)
    docs, next_cursor = next_page(docs, page.limit)
    return NegotiationPage(items=[_read(d, caller.organisation_id) for d in docs], next_cursor=next_cursor)


@router.get("/{negotiation_id}", response_model=NegotiationRead, responses={404: {"description": "Not a party"}})
async def get_negotiation(negotiation_id: str, ctx: Context, caller: Participant,
                          response: Response) -> NegotiationRead:
    doc, _ = await service.for_party(ctx, negotiation_id, caller.organisation_id)
    return _answer(response, doc, caller.organisation_id)


@router.post("/{negotiation_id}/offers", response_model=NegotiationRead)
async def counter_offer(negotiation_id: str, data: CounterOffer, ctx: Context, caller: Participant,
                        response: Response, if_match: IfMatch = None,
                        idempotency_key: IdempotencyKeyHeader = None) -> NegotiationRead:
    """Answer the current offer with a counter-offer."""
    doc = await service.counter(ctx, negotiation_id, data, caller, expected_version(if_match),
                                _digest(caller, idempotency_key, "counter", negotiation_id))
    return _answer(response, doc, caller.organisation_id)


async def _answer_offer(action: Action, negotiation_id: str, ctx: ServiceContext, caller: Participant,
                        response: Response, if_match: str | None, idempotency_key: str | None) -> NegotiationRead:
    doc = await service.answer(ctx, negotiation_id, action, caller, expected_version(if_match),
                               _digest(caller, idempotency_key, action.value, negotiation_id))
    return _answer(response, doc, caller.organisation_id)


@router.post("/{negotiation_id}/acceptance", response_model=NegotiationRead)
async def accept_offer(negotiation_id: str, ctx: Context, caller: Participant, response: Response,
                       if_match: IfMatch = None, idempotency_key: IdempotencyKeyHeader = None) -> NegotiationRead:
    return await _answer_offer(Action.ACCEPT, negotiation_id, ctx, caller, response, if_match, idempotency_key)


@router.post("/{negotiation_id}/rejection", response_model=NegotiationRead)
async def reject_offer(negotiation_id: str, ctx: Context, caller: Participant, response: Response,
                       if_match: IfMatch = None, idempotency_key: IdempotencyKeyHeader = None) -> NegotiationRead:
    return await _answer_offer(Action.REJECT, negotiation_id, ctx, caller, response, if_match, idempotency_key)


@router.post("/{negotiation_id}/withdrawal", response_model=NegotiationRead)
async def withdraw_offer(negotiation_id: str, ctx: Context, caller: Participant, response: Response,
                         if_match: IfMatch = None, idempotency_key: IdempotencyKeyHeader = None) -> NegotiationRead:
    return await _answer_offer(Action.WITHDRAW, negotiation_id, ctx, caller, response, if_match, idempotency_key)


@router.post("/{negotiation_id}/signature", status_code=201, response_model=DealRef,
             responses={409: {"description": "Conflicts with a licence on the patent, the patent is pledged, or it "
                                               "changed hands since the negotiation began"}})
async def sign_agreement(negotiation_id: str, ctx: Context, caller: Participant, response: Response,
                         data: Signature | None = None, if_match: IfMatch = None,
                         idempotency_key: IdempotencyKeyHeader = None) -> DealRef:
    """Sign the accepted offer: creates the licence (or, for an assignment, the transfer application).
    Signing again returns the same deal with 200: the deal's id is derived from the negotiation's, so
    a retry (with or without an Idempotency-Key) can never create a second one."""
    deal, created = await signing.sign(ctx, negotiation_id, caller, expected_version(if_match),
                                       data.signed_on if data else None)
    mark_created(response, deal["href"], created)
    return DealRef.model_validate(deal)


@router.post("/{negotiation_id}/publicity-consent", response_model=NegotiationRead)
async def state_publicity_consent(negotiation_id: str, data: PublicityConsentStatement, ctx: Context,
                                  caller: Participant, response: Response,
                                  if_match: IfMatch = None) -> NegotiationRead:
    """The caller's side states whether it agrees to be named in the IPO's publicity about this deal
    (issue 12). The deal events carry whether both sides agreed."""
    doc = await consent.state(ctx, negotiation_id, caller, expected_version(if_match), data.consent)
    return _answer(response, doc, caller.organisation_id)
