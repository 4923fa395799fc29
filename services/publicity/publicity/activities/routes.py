"""HTTP routes for activities: units submit and report, officers review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from servicekit.auth import Principal, Role, require_roles
from servicekit.http import IdempotencyKeyHeader, expected_version, id_after, mark_created, next_page, set_etag
from servicekit.mongo import Document
from servicekit.routing import Context, IfMatch, Pagination

from publicity.activities import service, store
from publicity.activities.domain import ActivityState
from publicity.activities.models import ActivityCreate, ActivityPage, ActivityRead, ReachReport, Return
from publicity.common import Officer

router = APIRouter(prefix="/v1/activities", tags=["activities"])

Submitter = Annotated[Principal, Depends(require_roles(Role.PARTICIPANT, Role.OFFICER))]
"""A participating unit's user (acting for the token's organisation) or an officer."""


def _read(doc: Document) -> ActivityRead:
    return ActivityRead.model_validate({**doc, "id": doc["_id"]})


def _answer(response: Response, doc: Document) -> ActivityRead:
    set_etag(response, doc["version"])
    return _read(doc)


@router.post("", status_code=201, response_model=ActivityRead)
async def submit_activity(data: ActivityCreate, ctx: Context, caller: Submitter, response: Response,
                          idempotency_key: IdempotencyKeyHeader = None) -> ActivityRead:
    doc, created = await service.submit(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/activities/{doc['_id']}", created)
    return _answer(response, doc)


@router.get("", response_model=ActivityPage)
async def list_activities(ctx: Context, caller: Submitter, page: Pagination, campaign_id: str | None = None,
                          state: ActivityState | None = None) -> ActivityPage:
    """Officers see every activity; a unit its own."""
    filters: dict[str, object] = {"campaign_id": campaign_id, "state": state.value if state else None}
    if not service.is_officer(caller):
        filters["responsible_unit"] = caller.organisation_id or "-"
    docs = await store.page(ctx.db, filters, id_after(page.cursor), page.limit + 1)
    docs, cursor = next_page(docs, page.limit)
    return ActivityPage(items=[_read(d) for d in docs], next_cursor=cursor)


@router.get("/{activity_id}", response_model=ActivityRead)
async def get_activity(activity_id: str, ctx: Context, caller: Submitter, response: Response) -> ActivityRead:
    return _answer(response, await service.find(ctx.db, activity_id, caller))


@router.put("/{activity_id}", response_model=ActivityRead)
async def resubmit_activity(activity_id: str, data: ActivityCreate, ctx: Context, caller: Submitter,
                            response: Response, if_match: IfMatch = None) -> ActivityRead:
    """Edit a returned activity and submit it again."""
    return _answer(response, await service.resubmit(ctx, activity_id, data, caller, expected_version(if_match)))


@router.post("/{activity_id}/acceptance", response_model=ActivityRead)
async def accept_activity(activity_id: str, ctx: Context, caller: Officer, response: Response,
                          if_match: IfMatch = None) -> ActivityRead:
    return _answer(response, await service.accept(ctx, activity_id, caller, expected_version(if_match)))


@router.post("/{activity_id}/return", response_model=ActivityRead)
async def return_activity(activity_id: str, data: Return, ctx: Context, caller: Officer, response: Response,
                          if_match: IfMatch = None) -> ActivityRead:
    """Send the activity back to its unit with a reason."""
    return _answer(response, await service.give_back(ctx, activity_id, caller, expected_version(if_match),
                                                     data.reason))


@router.post("/{activity_id}/reach-report", response_model=ActivityRead)
async def report_reach(activity_id: str, data: ReachReport, ctx: Context, caller: Submitter, response: Response,
                       if_match: IfMatch = None) -> ActivityRead:
    """After the activity: its actual reach (participants, online views), which feeds the campaign's totals."""
    return _answer(response, await service.report(ctx, activity_id, data, caller, expected_version(if_match)))
