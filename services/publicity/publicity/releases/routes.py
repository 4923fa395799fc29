"""HTTP routes for releases: officers' workflow under /v1/releases, the public view under
/v1/public/releases (published editions only; nothing before its embargo)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from servicekit.http import IdempotencyKeyHeader, expected_version, id_after, mark_created, next_page, set_etag
from servicekit.mongo import Document
from servicekit.routing import Context, IfMatch, Pagination

from publicity.common import Officer, as_utc
from publicity.feeds import store as feed
from publicity.feeds.caching import max_age
from publicity.releases import service, store
from publicity.releases.domain import Action, ReleaseState
from publicity.releases.models import (
    ChangeNote,
    Explanation,
    PublicRelease,
    PublicReleasePage,
    Reason,
    ReleaseContent,
    ReleaseCreate,
    ReleasePage,
    ReleaseRead,
    Scheduling,
)

router = APIRouter(prefix="/v1/releases", tags=["releases"])
public_router = APIRouter(prefix="/v1/public/releases", tags=["public"])


def public_view(doc: Document) -> PublicRelease:
    return PublicRelease(id=doc["_id"], kind=doc["kind"], **doc["public"])


def _read(doc: Document) -> ReleaseRead:
    return ReleaseRead(id=doc["_id"], kind=doc["kind"], origin=doc.get("origin", "officer"),
                       milestone=doc.get("milestone"), state=doc["state"], edition=doc["edition"],
                       content=doc["content"], change_note=doc.get("change_note"),
                       submitted_by=doc.get("submitted_by"), scheduled_for=doc.get("scheduled_for"),
                       forced=doc.get("forced"), public=public_view(doc) if doc.get("public") else None,
                       history=doc.get("history", []), version=doc["version"], created_by=doc["created_by"],
                       created_at=doc["created_at"], updated_at=doc["updated_at"])


def _answer(response: Response, doc: Document) -> ReleaseRead:
    set_etag(response, doc["version"])
    return _read(doc)


@router.post("", status_code=201, response_model=ReleaseRead)
async def draft_release(data: ReleaseCreate, ctx: Context, caller: Officer, response: Response,
                        idempotency_key: IdempotencyKeyHeader = None) -> ReleaseRead:
    doc, created = await service.create(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/releases/{doc['_id']}", created)
    return _answer(response, doc)


@router.get("", response_model=ReleasePage)
async def list_releases(ctx: Context, caller: Officer, page: Pagination, state: ReleaseState | None = None,
                        kind: Literal["press_release", "news"] | None = None,
                        forced: Annotated[Literal["unapproved"] | None, Query(
                            description="`unapproved`: the officers' dashboard of force-published releases "
                                        "still awaiting a second officer's approval")] = None) -> ReleasePage:
    filters: dict[str, object] = {}
    if state is not None:
        filters["state"] = state.value
    if kind is not None:
        filters["kind"] = kind
    docs = await store.page(ctx.db, filters, id_after(page.cursor), page.limit + 1,
                            forced_unapproved=forced is not None)
    docs, cursor = next_page(docs, page.limit)
    return ReleasePage(items=[_read(d) for d in docs], next_cursor=cursor)


@router.get("/{release_id}", response_model=ReleaseRead)
async def get_release(release_id: str, ctx: Context, caller: Officer, response: Response) -> ReleaseRead:
    return _answer(response, await service.find(ctx.db, release_id))


@router.put("/{release_id}/content", response_model=ReleaseRead)
async def edit_release(release_id: str, data: ReleaseContent, ctx: Context, caller: Officer, response: Response,
                       if_match: IfMatch = None) -> ReleaseRead:
    """Edit the working edition (a draft, or a rejected edition, which returns to draft)."""
    return _answer(response, await service.act(ctx, release_id, Action.EDIT, caller, expected_version(if_match),
                                               content=data))


@router.post("/{release_id}/submission", response_model=ReleaseRead)
async def submit_release(release_id: str, ctx: Context, caller: Officer, response: Response,
                         if_match: IfMatch = None) -> ReleaseRead:
    return _answer(response, await service.act(ctx, release_id, Action.SUBMIT, caller, expected_version(if_match)))


@router.post("/{release_id}/rejection", response_model=ReleaseRead)
async def reject_release(release_id: str, data: Reason, ctx: Context, caller: Officer, response: Response,
                         if_match: IfMatch = None) -> ReleaseRead:
    return _answer(response, await service.act(ctx, release_id, Action.REJECT, caller, expected_version(if_match),
                                               note=data.reason))


@router.post("/{release_id}/scheduling", response_model=ReleaseRead)
async def schedule_release(release_id: str, data: Scheduling, ctx: Context, caller: Officer, response: Response,
                           if_match: IfMatch = None) -> ReleaseRead:
    """Schedule a submitted edition (by an officer other than its submitter) for an embargo at least
    5 minutes ahead; it is published by the scheduler when due."""
    publish_at: datetime = as_utc(data.publish_at)
    return _answer(response, await service.act(ctx, release_id, Action.SCHEDULE, caller,
                                               expected_version(if_match), publish_at=publish_at))


@router.post("/{release_id}/unscheduling", response_model=ReleaseRead)
async def unschedule_release(release_id: str, ctx: Context, caller: Officer, response: Response,
                             if_match: IfMatch = None) -> ReleaseRead:
    return _answer(response, await service.act(ctx, release_id, Action.UNSCHEDULE, caller,
                                               expected_version(if_match)))


@router.post("/{release_id}/publication", response_model=ReleaseRead)
async def publish_release(release_id: str, ctx: Context, caller: Officer, response: Response,
                          if_match: IfMatch = None) -> ReleaseRead:
    """Publish a submitted edition now (by an officer other than its submitter)."""
    return _answer(response, await service.act(ctx, release_id, Action.PUBLISH, caller, expected_version(if_match)))


@router.post("/{release_id}/forced-publication", response_model=ReleaseRead)
async def force_publish_release(release_id: str, data: Reason, ctx: Context, caller: Officer, response: Response,
                                if_match: IfMatch = None) -> ReleaseRead:
    """Publish now without review, for a reason; another officer approves it afterwards."""
    return _answer(response, await service.act(ctx, release_id, Action.FORCE_PUBLISH, caller,
                                               expected_version(if_match), note=data.reason))


@router.post("/{release_id}/forced-publication/approval", response_model=ReleaseRead)
async def approve_forced_publication(release_id: str, ctx: Context, caller: Officer, response: Response,
                                     if_match: IfMatch = None) -> ReleaseRead:
    return _answer(response, await service.approve_forced(ctx, release_id, caller, expected_version(if_match)))


@router.post("/{release_id}/withdrawal", response_model=ReleaseRead)
async def withdraw_release(release_id: str, data: Explanation, ctx: Context, caller: Officer, response: Response,
                           if_match: IfMatch = None) -> ReleaseRead:
    return _answer(response, await service.act(ctx, release_id, Action.WITHDRAW, caller,
                                               expected_version(if_match), note=data.explanation))


@router.post("/{release_id}/editions", response_model=ReleaseRead)
async def start_edition(release_id: str, data: ChangeNote, ctx: Context, caller: Officer, response: Response,
                        if_match: IfMatch = None) -> ReleaseRead:
    """Start a new edition of a published (or withdrawn) release; the public keeps the current edition
    until the new one is published, which supersedes it."""
    return _answer(response, await service.act(ctx, release_id, Action.NEW_EDITION, caller,
                                               expected_version(if_match), note=data.change_note))


async def cache_for(ctx: Context, response: Response) -> None:
    """Public answers are cached, but never past the next embargo."""
    response.headers["Cache-Control"] = f"public, max-age={await max_age(ctx)}"


@public_router.get("", response_model=PublicReleasePage)
async def public_releases(ctx: Context, response: Response,
                          limit: Annotated[int, Query(ge=1, le=100)] = 20) -> PublicReleasePage:
    """Public: the newest published and withdrawn releases (up to 100), newest change first."""
    docs = (await feed.snapshot(ctx.db)).items[:limit]
    await cache_for(ctx, response)
    return PublicReleasePage(items=[public_view(d) for d in docs])


@public_router.get("/{release_id}", response_model=PublicRelease)
async def public_release(release_id: str, ctx: Context, response: Response) -> PublicRelease:
    """Public: the published edition (a withdrawn one with its explanation). 404 before the embargo."""
    doc = await service.find_public(ctx.db, release_id)
    await cache_for(ctx, response)
    return public_view(doc)
