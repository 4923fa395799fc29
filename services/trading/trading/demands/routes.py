"""HTTP routes for demands (participants' technology needs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from servicekit.auth import Principal, Role, require_roles
from servicekit.http import IdempotencyKeyHeader, expected_version, mark_created, set_etag
from servicekit.mongo import Document
from servicekit.routing import Context, IfMatch

from trading.demands import service, store
from trading.demands.models import DemandCreate, DemandPage, DemandRead

router = APIRouter(prefix="/v1/demands", tags=["demands"])

Participant = Annotated[Principal, Depends(require_roles(Role.PARTICIPANT))]


def read_model(doc: Document) -> DemandRead:
    return DemandRead(id=doc["_id"], **{k: v for k, v in doc.items() if k != "_id"})


@router.post("", status_code=201, response_model=DemandRead)
async def post_demand(data: DemandCreate, ctx: Context, caller: Participant, response: Response,
                      idempotency_key: IdempotencyKeyHeader = None) -> DemandRead:
    """Post a technology need for the caller's organisation; matchmaking starts at once."""
    doc, created = await service.post(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/demands/{doc['_id']}", created)
    set_etag(response, doc["version"])
    return read_model(doc)


@router.get("", response_model=DemandPage)
async def my_demands(ctx: Context, caller: Participant) -> DemandPage:
    """The caller's organisation's demands."""
    docs = await store.by_organisation(ctx.db, caller.organisation_id) if caller.organisation_id else []
    return DemandPage(items=[read_model(d) for d in docs], next_cursor=None)


@router.get("/{demand_id}", response_model=DemandRead)
async def get_demand(demand_id: str, ctx: Context, caller: Participant, response: Response) -> DemandRead:
    doc = await service.find(ctx, demand_id, caller)
    set_etag(response, doc["version"])
    return read_model(doc)


@router.post("/{demand_id}/closing", response_model=DemandRead)
# Deprecated: the old name of this action, kept working (README, "Action routes").
@router.post("/{demand_id}/close", response_model=DemandRead, include_in_schema=False)
async def close_demand(demand_id: str, ctx: Context, caller: Participant, response: Response,
                       if_match: IfMatch = None) -> DemandRead:
    doc = await service.close(ctx, demand_id, caller, expected_version(if_match))
    set_etag(response, doc["version"])
    return read_model(doc)
