"""HTTP routes for campaigns: officers plan, open, close and pin; anyone reads the page."""

from __future__ import annotations

from fastapi import APIRouter, Response
from servicekit.http import IdempotencyKeyHeader, expected_version, id_after, mark_created, next_page, set_etag
from servicekit.mongo import Document
from servicekit.routing import Context, IfMatch, Pagination

from publicity.campaigns import service, store
from publicity.campaigns.domain import CampaignStatus
from publicity.campaigns.models import (
    CampaignCreate,
    CampaignOverview,
    CampaignPage,
    CampaignRead,
    PinChange,
)
from publicity.common import Officer

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])


def _read(doc: Document) -> CampaignRead:
    return CampaignRead(id=doc["_id"], name=doc["name"], theme=doc["theme"], starts_on=doc["starts_on"],
                        ends_on=doc["ends_on"], organisers=doc["organisers"], status=doc["status"],
                        pins=service.pins_of(doc), version=doc["version"], created_at=doc["created_at"],
                        updated_at=doc["updated_at"])


def _answer(response: Response, doc: Document) -> CampaignRead:
    set_etag(response, doc["version"])
    return _read(doc)


@router.post("", status_code=201, response_model=CampaignRead)
async def plan_campaign(data: CampaignCreate, ctx: Context, caller: Officer, response: Response,
                        idempotency_key: IdempotencyKeyHeader = None) -> CampaignRead:
    doc, created = await service.plan(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/campaigns/{doc['_id']}", created)
    return _answer(response, doc)


@router.get("", response_model=CampaignPage)
async def list_campaigns(ctx: Context, page: Pagination, status: CampaignStatus | None = None) -> CampaignPage:
    """Public: every campaign."""
    docs = await store.page(ctx.db, status.value if status else None, id_after(page.cursor), page.limit + 1)
    docs, cursor = next_page(docs, page.limit)
    return CampaignPage(items=[_read(d) for d in docs], next_cursor=cursor)


@router.get("/{campaign_id}", response_model=CampaignOverview)
async def get_campaign(campaign_id: str, ctx: Context, response: Response) -> CampaignOverview:
    """Public: the campaign, what happens inside its dates (fairs, unless unpinned; anything pinned)
    and its live totals."""
    doc = await service.find(ctx.db, campaign_id)
    set_etag(response, doc["version"])
    page = await service.overview(ctx.db, doc)
    return CampaignOverview(campaign=_read(doc), items=page["items"], totals=page["totals"])


@router.post("/{campaign_id}/opening", response_model=CampaignRead)
async def open_campaign(campaign_id: str, ctx: Context, caller: Officer, response: Response,
                        if_match: IfMatch = None) -> CampaignRead:
    return _answer(response, await service.change_status(ctx, campaign_id, CampaignStatus.OPEN,
                                                         expected_version(if_match)))


@router.post("/{campaign_id}/closing", response_model=CampaignRead)
async def close_campaign(campaign_id: str, ctx: Context, caller: Officer, response: Response,
                         if_match: IfMatch = None) -> CampaignRead:
    return _answer(response, await service.change_status(ctx, campaign_id, CampaignStatus.CLOSED,
                                                         expected_version(if_match)))


@router.post("/{campaign_id}/pins", response_model=CampaignRead)
async def pin_item(campaign_id: str, data: PinChange, ctx: Context, caller: Officer, response: Response,
                   if_match: IfMatch = None) -> CampaignRead:
    """Pin an item to the campaign's page (`shown: true`) or hide one listed by its dates (`false`)."""
    return _answer(response, await service.pin(ctx, campaign_id, data, caller, expected_version(if_match)))
