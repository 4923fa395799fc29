"""HTTP routes for fairs: thin, they translate between HTTP and the use cases."""

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

from trading.fairs import service, store
from trading.fairs.domain import FairStatus
from trading.fairs.models import ExhibitAdd, ExhibitorAdd, FairCreate, FairPage, FairRead, FairStatistics, ShownListing
from trading.negotiations.idempotency import action_digest
from trading.negotiations.parties import Anyone, Participant, Staff

router = APIRouter(prefix="/v1/fairs", tags=["fairs"])


def _read(doc: Document) -> FairRead:
    shown = [ShownListing(listing_id=k, **v) for k, v in sorted((doc.get("shown_listings") or {}).items())]
    return FairRead(id=doc["_id"], name=doc["name"], venue=doc["venue"], region_code=doc["region_code"],
                    starts_on=doc["starts_on"], ends_on=doc["ends_on"], status=doc["status"],
                    exhibitors=sorted(doc.get("exhibitors") or {}), shown_listings=shown, version=doc["version"],
                    created_at=doc["created_at"], updated_at=doc["updated_at"])


def _answer(response: Response, doc: Document) -> FairRead:
    set_etag(response, doc["version"])
    return _read(doc)


@router.post("", status_code=201, response_model=FairRead)
async def plan_fair(data: FairCreate, ctx: Context, caller: Staff, response: Response,
                    idempotency_key: IdempotencyKeyHeader = None) -> FairRead:
    doc, created = await service.plan(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/fairs/{doc['_id']}", created)
    return _answer(response, doc)


@router.get("", response_model=FairPage)
async def list_fairs(ctx: Context, page: Pagination, status: FairStatus | None = None) -> FairPage:
    """Public: the fair calendar."""
    after = id_after(page.cursor)
    docs = await store.page(ctx.db, status.value if status else None, after, page.limit + 1)
    docs, next_cursor = next_page(docs, page.limit)
    return FairPage(items=[_read(d) for d in docs], next_cursor=next_cursor)


@router.get("/{fair_id}", response_model=FairRead)
async def get_fair(fair_id: str, ctx: Context, response: Response) -> FairRead:
    """Public: dates, venue, exhibitors and the listings shown."""
    return _answer(response, await service.find(ctx, fair_id))


@router.get("/{fair_id}/statistics", response_model=FairStatistics)
async def fair_statistics(fair_id: str, ctx: Context) -> FairStatistics:
    """Public and live: counted from the deals that carry the fair's id at the moment of reading."""
    return FairStatistics.model_validate(await service.figures(ctx, fair_id))


@router.post("/{fair_id}/opening", response_model=FairRead)
async def open_fair(fair_id: str, ctx: Context, caller: Staff, response: Response, if_match: IfMatch = None,
                    idempotency_key: IdempotencyKeyHeader = None) -> FairRead:
    digest = action_digest(caller.subject, idempotency_key, "open") if idempotency_key else None
    return _answer(response, await service.change_status(ctx, fair_id, FairStatus.OPEN, expected_version(if_match),
                                                         digest))


@router.post("/{fair_id}/closing", response_model=FairRead)
async def close_fair(fair_id: str, ctx: Context, caller: Staff, response: Response, if_match: IfMatch = None,
                     idempotency_key: IdempotencyKeyHeader = None) -> FairRead:
    digest = action_digest(caller.subject, idempotency_key, "close") if idempotency_key else None
    return _answer(response, await service.change_status(ctx, fair_id, FairStatus.CLOSED,
                                                         expected_version(if_match), digest))


@router.post("/{fair_id}/exhibitors", response_model=FairRead)
async def add_exhibitor(fair_id: str, data: ExhibitorAdd, ctx: Context, caller: Anyone, response: Response,
                        idempotency_key: IdempotencyKeyHeader = None) -> FairRead:
    """Sign an organisation up as an exhibitor. Keyed by the organisation: a retry (with or without an
    Idempotency-Key) adds nothing twice."""
    return _answer(response, await service.add_exhibitor(ctx, fair_id, data, caller))


@router.post("/{fair_id}/exhibits", response_model=FairRead)
async def show_listing(fair_id: str, data: ExhibitAdd, ctx: Context, caller: Participant, response: Response,
                       idempotency_key: IdempotencyKeyHeader = None) -> FairRead:
    """Show one of the caller's published listings at the fair. Keyed by the listing: a retry adds
    nothing twice."""
    return _answer(response, await service.show_listing(ctx, fair_id, data, caller))
