"""HTTP routes for courses: thin, they translate between HTTP and the use cases. The curriculum is
public to read; coordinators change their own base's courses, officers any."""

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

from training.courses import service, store
from training.courses.domain import Audience
from training.courses.models import CourseCreate, CoursePage, CourseRead, CourseUpdate
from training.talents.domain import TalentCategory

router = APIRouter(prefix="/v1/courses", tags=["courses"])

Planner = Annotated[Principal, Depends(require_roles(Role.COORDINATOR, Role.OFFICER))]


def read_course(doc: Document) -> CourseRead:
    return CourseRead(id=doc["_id"], **{k: v for k, v in doc.items() if k in CourseRead.model_fields and k != "id"})


@router.post("", status_code=201, response_model=CourseRead,
             responses={403: {"description": "Another training base"}, 422: {"description": "Invalid input"}})
async def create_course(data: CourseCreate, ctx: Context, caller: Planner, response: Response,
                        idempotency_key: IdempotencyKeyHeader = None) -> CourseRead:
    doc, created = await service.create(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/courses/{doc['_id']}", created)
    set_etag(response, doc["version"])
    return read_course(doc)


@router.get("/{course_id}", response_model=CourseRead)
async def get_course(course_id: str, ctx: Context, response: Response) -> CourseRead:
    """Public: the curriculum is open."""
    doc = await service.find(ctx, course_id)
    set_etag(response, doc["version"])
    return read_course(doc)


@router.patch("/{course_id}", response_model=CourseRead,
              responses={403: {"description": "Another training base"}, 412: {"description": "Stale If-Match"}})
async def update_course(course_id: str, data: CourseUpdate, ctx: Context, caller: Planner, response: Response,
                        if_match: IfMatch = None) -> CourseRead:
    doc = await service.change(ctx, course_id, data, caller, expected_version(if_match))
    set_etag(response, doc["version"])
    return read_course(doc)


@router.get("", response_model=CoursePage)
async def list_courses(
    ctx: Context, page: Pagination,
    training_base_id: str | None = None,
    audience: Audience | None = None,
    category: TalentCategory | None = None,
) -> CoursePage:
    """Public listing, ordered by id, filtered by base, audience or the category a course counts toward."""
    filters: dict[str, str] = {}
    if training_base_id:
        filters["training_base_id"] = training_base_id
    if audience:
        filters["audience"] = audience.value
    if category:
        filters["categories"] = category.value
    after = id_after(page.cursor)
    docs = await store.page(ctx.db, filters, after, page.limit + 1)
    docs, next_cursor = next_page(docs, page.limit)
    return CoursePage(items=[read_course(d) for d in docs], next_cursor=next_cursor)
