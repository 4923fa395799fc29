"""HTTP routes for sessions: thin. Sessions are public to read (their enrolments are not);
coordinators change their own base's sessions, officers any."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from servicekit.auth import Principal, Role, require_roles
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

from training.sessions import service, store
from training.sessions.models import SessionCreate, SessionPage, SessionRead, SessionUpdate

router = APIRouter(tags=["sessions"])

Planner = Annotated[Principal, Depends(require_roles(Role.COORDINATOR, Role.OFFICER))]


def read_session(doc: Document) -> SessionRead:
    waitlisted = int(doc.get("counts", {}).get("waitlisted", 0))
    fields = {k: v for k, v in doc.items() if k in SessionRead.model_fields}
    return SessionRead(id=doc["_id"], **fields, seats_free=max(doc["capacity"] - doc["seats_taken"], 0),
                       waitlisted=waitlisted)


@router.post("/v1/courses/{course_id}/sessions", status_code=201, response_model=SessionRead,
             responses={403: {"description": "Another training base"}, 404: {"description": "No such course"}})
async def create_session(course_id: str, data: SessionCreate, ctx: Context, caller: Planner, response: Response,
                         idempotency_key: IdempotencyKeyHeader = None) -> SessionRead:
    doc, created = await service.create(ctx, course_id, data, caller, idempotency_key)
    mark_created(response, f"/v1/sessions/{doc['_id']}", created)
    set_etag(response, doc["version"])
    return read_session(doc)


@router.get("/v1/sessions/{session_id}", response_model=SessionRead)
async def get_session(session_id: str, ctx: Context, response: Response) -> SessionRead:
    """Public: schedule, venue and free seats."""
    doc = await service.find(ctx, session_id)
    set_etag(response, doc["version"])
    return read_session(doc)


@router.patch("/v1/sessions/{session_id}", response_model=SessionRead,
              responses={403: {"description": "Another training base"}, 409: {"description": "Capacity too small"},
                         412: {"description": "Stale If-Match"}})
async def update_session(session_id: str, data: SessionUpdate, ctx: Context, caller: Planner, response: Response,
                         if_match: IfMatch = None) -> SessionRead:
    """Change schedule, venue, coordinator or capacity; a larger capacity books the waitlist at once."""
    doc = await service.change(ctx, session_id, data, caller, expected_version(if_match))
    set_etag(response, doc["version"])
    return read_session(doc)


@router.get("/v1/sessions", response_model=SessionPage)
async def list_sessions(
    ctx: Context, page: Pagination,
    course_id: str | None = None,
    training_base_id: str | None = None,
) -> SessionPage:
    """Public listing, ordered by id, filtered by course or training base."""
    filters: dict[str, str] = {}
    if course_id:
        filters["course_id"] = course_id
    if training_base_id:
        filters["training_base_id"] = training_base_id
    after = id_after(page.cursor)
    docs = await store.page(ctx.db, filters, after, page.limit + 1)
    docs, next_cursor = next_page(docs, page.limit)
    return SessionPage(items=[read_session(d) for d in docs], next_cursor=next_cursor)
