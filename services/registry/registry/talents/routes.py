"""HTTP routes for talents: thin, they translate between HTTP and the use cases.

Reading a talent needs a token: staff (coordinator, officer) see any record in full, a talent sees
its own (the login bound at registration), anyone else gets 404. The public view is served without
a token by the credential check (`/v1/public/...`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from servicekit.auth import Principal, Role, current_principal, require_roles
from servicekit.http import (
    IdempotencyKeyHeader,
    expected_version,
    id_after,
    mark_created,
    next_page,
    set_etag,
)
from servicekit.routing import Context, IfMatch, Pagination

from registry.credits import service as credit_service
from registry.credits.models import LedgerRead
from registry.talents import service, store
from registry.talents.domain import TalentCategory, TalentLevel, TalentStatus
from registry.talents.models import StatusChange, TalentCreate, TalentPage, TalentRead, TalentUpdate, full_view

router = APIRouter(prefix="/v1", tags=["talents"])

Staff = Annotated[Principal, Depends(require_roles(Role.COORDINATOR, Role.OFFICER))]
Officer = Annotated[Principal, Depends(require_roles(Role.OFFICER))]
Caller = Annotated[Principal, Depends(current_principal)]


@router.post("/talents", status_code=201, response_model=TalentRead,
             responses={409: {"description": "Already registered"}, 422: {"description": "Invalid input"}})
async def register_talent(data: TalentCreate, ctx: Context, caller: Staff, response: Response,
                          idempotency_key: IdempotencyKeyHeader = None) -> TalentRead:
    """Register a talent (coordinators and officers). The registry assigns the registration number,
    which is also the talent's id."""
    doc, created = await service.register(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/talents/{doc['_id']}", created)
    set_etag(response, doc["version"])
    return full_view(doc)


@router.get("/talents/me", response_model=TalentRead,
            responses={404: {"description": "No talent record is bound to this login"}})
async def my_talent_record(ctx: Context, caller: Caller, response: Response) -> TalentRead:
    """The talent record bound to the caller's login."""
    doc = await service.find_own(ctx, caller)
    set_etag(response, doc["version"])
    return full_view(doc)


@router.get("/talents/{talent_id}", response_model=TalentRead)
async def get_talent(talent_id: str, ctx: Context, caller: Caller, response: Response) -> TalentRead:
    doc = await service.find_for(ctx, talent_id, caller)
    set_etag(response, doc["version"])
    return full_view(doc)


@router.get("/talents/{talent_id}/credits", response_model=LedgerRead)
async def get_credits(talent_id: str, ctx: Context, caller: Caller) -> LedgerRead:
    """The talent's continuing-education ledger (staff, or the talent itself)."""
    await service.find_for(ctx, talent_id, caller)
    return await credit_service.ledger(ctx, talent_id)


@router.patch("/talents/{talent_id}", response_model=TalentRead)
async def update_talent(talent_id: str, data: TalentUpdate, ctx: Context, caller: Staff, response: Response,
                        if_match: IfMatch = None) -> TalentRead:
    doc = await service.change(ctx, talent_id, data, expected_version(if_match))
    set_etag(response, doc["version"])
    return full_view(doc)


@router.post("/talents/{talent_id}/status", response_model=TalentRead,
             responses={409: {"description": "The status machine does not allow this change"}})
async def change_talent_status(talent_id: str, data: StatusChange, ctx: Context, caller: Officer,
                               response: Response, if_match: IfMatch = None) -> TalentRead:
    """Suspend, reinstate, deactivate or remove a talent (officers), with a reason for the public history."""
    doc = await service.change_status(ctx, talent_id, data, expected_version(if_match), caller)
    set_etag(response, doc["version"])
    return full_view(doc)


@router.get("/talents", response_model=TalentPage)
async def list_talents(
    ctx: Context, page: Pagination,
    caller: Staff,
    category: TalentCategory | None = None,
    level: TalentLevel | None = None,
    status: TalentStatus | None = None,
    city_code: Annotated[str | None, Query(pattern=r"^\d{4}00$")] = None,
    employer_organisation_id: str | None = None,
) -> TalentPage:
    """Staff listing, ordered by registration number, with a cursor to the next page."""
    filters: dict[str, str] = {}
    if category:
        filters["categories"] = category.value
    if level:
        filters["level"] = level.value
    if status:
        filters["status"] = status.value
    if city_code:
        filters["city_code"] = city_code
    if employer_organisation_id:
        filters["employer_organisation_id"] = employer_organisation_id
    after = id_after(page.cursor)
    docs = await store.page(ctx.db[store.COLLECTION], filters, after, page.limit + 1)
    docs, next_cursor = next_page(docs, page.limit)
    return TalentPage(items=[full_view(d) for d in docs], next_cursor=next_cursor)
