"""HTTP routes for pledges: thin."""

from __future__ import annotations

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

from trading.negotiations.idempotency import action_digest
from trading.negotiations.parties import Anyone, Officer, Participant, page_for_caller
from trading.patents import service as patents
from trading.patents.params import ApplicationNumberQuery, application_number_param
from trading.pledges import service, store
from trading.pledges.domain import PledgeStatus, missing_consents
from trading.pledges.models import PledgeCreate, PledgePage, PledgeRead, PledgeRegistration

router = APIRouter(prefix="/v1/pledges", tags=["pledges"])


def _model(doc: Document) -> PledgeRead:
    fields = {k: v for k, v in doc.items() if k not in ("_id", "parties")}
    return PledgeRead(id=doc["_id"], **fields,
                      missing_consents=missing_consents(doc["co_owner_organisation_ids"], doc["consents"]))


def _read(response: Response, doc: Document) -> PledgeRead:
    set_etag(response, doc["version"])
    return _model(doc)


@router.get("", response_model=PledgePage)
async def list_pledges(
    ctx: Context, page: Pagination, caller: Anyone, status: PledgeStatus | None = None,
    application_number: ApplicationNumberQuery = None,
) -> PledgePage:
    """Pledges the caller's organisation is party to (pledgor, co-owner, pledgee); IPO staff see all,
    e.g. `status=registered` for the pledges in force; a patent's verified owner sees every pledge of
    it (`application_number=`)."""
    application_number = application_number_param(application_number)
    filters = {"status": status.value if status else None, "application_number": application_number}
    owner = application_number is not None and await patents.is_owner(ctx.db, application_number,
                                                                       caller.organisation_id)
    docs = await page_for_caller(ctx.db, store.AGGREGATE, caller, filters, id_after(page.cursor), page.limit + 1,
                                 patent_owner=owner)
    docs, next_cursor = next_page(docs, page.limit)
    return PledgePage(items=[_model(d) for d in docs], next_cursor=next_cursor)


def _digest(subject: str, key: str | None, action: str) -> str | None:
    return action_digest(subject, key, action) if key else None


@router.post("", status_code=201, response_model=PledgeRead)
async def request_pledge(data: PledgeCreate, ctx: Context, caller: Participant, response: Response,
                         idempotency_key: IdempotencyKeyHeader = None) -> PledgeRead:
    """The patent owner (or its agent) requests a pledge; co-owners then consent; an officer registers it."""
    doc, created = await service.request(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/pledges/{doc['_id']}", created)
    return _read(response, doc)


@router.get("/{pledge_id}", response_model=PledgeRead, responses={404: {"description": "Not a party"}})
async def get_pledge(pledge_id: str, ctx: Context, caller: Anyone, response: Response) -> PledgeRead:
    return _read(response, await service.find(ctx, pledge_id, caller))


@router.post("/{pledge_id}/consents", response_model=PledgeRead)
async def consent_to_pledge(pledge_id: str, ctx: Context, caller: Participant, response: Response,
                            if_match: IfMatch = None, idempotency_key: IdempotencyKeyHeader = None) -> PledgeRead:
    """A co-owner (the token's organisation) consents."""
    doc = await service.consent(ctx, pledge_id, caller, expected_version(if_match),
                                _digest(caller.subject, idempotency_key, f"consent:{pledge_id}"))
    return _read(response, doc)


@router.post("/{pledge_id}/registration", response_model=PledgeRead,
             responses={409: {"description": "A co-owner has not consented"}})
async def register_pledge(pledge_id: str, ctx: Context, caller: Officer, response: Response,
                          data: PledgeRegistration | None = None, if_match: IfMatch = None,
                          idempotency_key: IdempotencyKeyHeader = None) -> PledgeRead:
    doc = await service.register_pledge(ctx, pledge_id, data or PledgeRegistration(), caller,
                                        expected_version(if_match),
                                        _digest(caller.subject, idempotency_key, f"register:{pledge_id}"))
    return _read(response, doc)


@router.post("/{pledge_id}/release", response_model=PledgeRead)
async def release_pledge(pledge_id: str, ctx: Context, caller: Anyone, response: Response,
                         data: PledgeRegistration | None = None, if_match: IfMatch = None,
                         idempotency_key: IdempotencyKeyHeader = None) -> PledgeRead:
    """The pledgee or an IPO officer releases a registered pledge."""
    doc = await service.release(ctx, pledge_id, data or PledgeRegistration(), caller, expected_version(if_match),
                                _digest(caller.subject, idempotency_key, f"release:{pledge_id}"))
    return _read(response, doc)
