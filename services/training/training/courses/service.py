"""Use cases for courses: rules and store together, free of HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal
from servicekit.http import creation_key, fingerprint
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from training.bases import base_of_new_course, require_base
from training.courses import store
from training.courses.domain import prerequisite_cycle
from training.courses.models import CourseCreate, CourseUpdate


async def _check_prerequisites(ctx: ServiceContext, course_id: str, prerequisites: list[str]) -> None:
    if len(set(prerequisites)) != len(prerequisites):
        raise _bad_prerequisites("a course is listed twice")
    known = await store.get_many(ctx.db, prerequisites)
    unknown = [p for p in prerequisites if p not in known]
    if unknown:
        raise _bad_prerequisites(f"unknown courses: {', '.join(unknown)}")
    graph = await store.prerequisite_graph(ctx.db)
    cycle = prerequisite_cycle(course_id, prerequisites, lambda c: graph.get(c, []))
    if cycle:
        raise _bad_prerequisites(f"this would make a cycle: {' -> '.join(cycle)}")


def _bad_prerequisites(detail: str) -> ProblemError:
    return ProblemError(422, "Invalid request", f"prerequisites: {detail}", kind="validation",
                        errors=[{"pointer": "#/prerequisites", "detail": detail}])


async def create(ctx: ServiceContext, data: CourseCreate, caller: Principal,
                 idempotency_key: str | None) -> tuple[Document, bool]:
    base = base_of_new_course(caller, data.training_base_id)
    course_id = uuid.uuid4().hex
    await _check_prerequisites(ctx, course_id, data.prerequisites)
    body = data.model_dump(mode="json")
    now = datetime.now(UTC)
    doc: Document = {"_id": course_id, **body, "training_base_id": base, "version": 1, "created_at": now,
                     "updated_at": now, "created_by": caller.subject,
                     "creation_key": creation_key(caller.subject, idempotency_key),
                     "creation_fingerprint": fingerprint(body)}
    stored_id, created = await aggregates.create_or_replay(ctx.db, store.AGGREGATE, doc)
    return await find(ctx, stored_id), created


async def change(ctx: ServiceContext, course_id: str, data: CourseUpdate, caller: Principal,
                 expected_version: int) -> Document:
    changes: dict[str, Any] = data.model_dump(mode="json", exclude_unset=True)
    async with aggregates.change(ctx.db, store.AGGREGATE, course_id) as unit:
        current = unit.document
        if current is None:
            raise ProblemError(404, "Not found", f"There is no course {course_id}.", kind="not-found")
        require_base(caller, current["training_base_id"], "course")
        if unit.check_version(expected_version):
            return current  # this request's change landed already (a retry after an unknown outcome)
        if "prerequisites" in changes:
            await _check_prerequisites(ctx, course_id, changes["prerequisites"])
        await unit.write({"$set": {**changes, "updated_at": datetime.now(UTC)}})
    return await find(ctx, course_id)


async def find(ctx: ServiceContext, course_id: str) -> Document:
    doc = await store.get(ctx.db, course_id)
    if doc is None:
        raise ProblemError(404, "Not found", f"There is no course {course_id}.", kind="not-found")
    return doc
