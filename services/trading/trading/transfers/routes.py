"""HTTP routes for transfers: thin."""

from __future__ import annotations

from fastapi import APIRouter, Response
from servicekit.http import IdempotencyKeyHeader, expected_version, id_after, next_page, set_etag
from servicekit.mongo import Document
from servicekit.routing import Context, IfMatch, Pagination

from trading.negotiations.idempotency import action_digest
from trading.negotiations.parties import Anyone, Officer, page_for_caller
from trading.patents import service as patents
from trading.patents.params import ApplicationNumberQuery, application_number_param
from trading.transfers import service, store
from trading.transfers.domain import TransferStatus
from trading.transfers.models import TransferPage, TransferRead, TransferRegistration

router = APIRouter(prefix="/v1/transfers", tags=["transfers"])


def _model(doc: Document) -> TransferRead:
    return TransferRead(id=doc["_id"], **{k: v for k, v in doc.items() if k not in ("_id", "parties")})


def _read(response: Response, doc: Document) -> TransferRead:
    set_etag(response, doc["version"])
    return _model(doc)


@router.get("", response_model=TransferPage)
async def list_transfers(
    ctx: Context, page: Pagination, caller: Anyone, status: TransferStatus | None = None,
    application_number: ApplicationNumberQuery = None,
) -> TransferPage:
    """Transfers the caller's organisation is party to (assignor, assignee, agent); IPO staff see all,
    e.g. `status=applied` for the assignments awaiting registration; a patent's verified owner sees
    every transfer of it (`application_number=`)."""
    application_number = application_number_param(application_number)
    filters = {"status": status.value if status else None, "application_number": application_number}
    owner = application_number is not None and await patents.is_owner(ctx.db, application_number,
                                                                       caller.organisation_id)
    docs = await page_for_caller(ctx.db, store.AGGREGATE, caller, filters, id_after(page.cursor), page.limit + 1,
                                 patent_owner=owner)
    docs, next_cursor = next_page(docs, page.limit)
    return TransferPage(items=[_model(d) for d in docs], next_cursor=next_cursor)


@router.get("/{transfer_id}", response_model=TransferRead, responses={404: {"description": "Not a party"}})
async def get_transfer(transfer_id: str, ctx: Context, caller: Anyone, response: Response) -> TransferRead:
    return _read(response, await service.find(ctx, transfer_id, caller))


@router.post("/{transfer_id}/registration", response_model=TransferRead,
             responses={409: {"description": "The patent is pledged"}})
async def register_transfer(transfer_id: str, ctx: Context, caller: Officer, response: Response,
                            data: TransferRegistration | None = None, if_match: IfMatch = None,
                            idempotency_key: IdempotencyKeyHeader = None) -> TransferRead:
    """An IPO officer registers the assignment: it takes effect and the patent's listings get the new owner."""
    digest = action_digest(caller.subject, idempotency_key, f"register:{transfer_id}") if idempotency_key else None
    doc = await service.register_transfer(ctx, transfer_id, data or TransferRegistration(), caller,
                                          expected_version(if_match), digest)
    return _read(response, doc)
