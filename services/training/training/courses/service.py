"""Use cases for courses: rules and store together, free of HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from servicekit.auth import Principal
from servicekit.http import creation_key, fingerprint, key_reused, stale
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from training.bases import base_of_new_course, require_base
from training.courses import store
from training.courses.domain import prerequisite_cycle
from training.courses.models import CourseCreate, CourseUpdate


async def _check_prerequisites(ctx: ServiceContext, course_id: str, prerequisites: list[str]) -> None:
    collection = ctx.db[store.COLLECTION]
    if len(set(prerequisites)) != len(prerequisites):
        raise _bad_prerequisites("a course is listed twice")
    known = await store.get_many(collection, prerequisites)
    unknown = [p for p in prerequisites if p not in known]
    if unknown:
        raise _bad_prerequisites(f"unknown courses: {', '.join(unknown)}")
    graph = await store.prerequisite_graph(collection)
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
    try:
        await store.insert(ctx.db[store.COLLECTION], doc)
    except store.DuplicateCourse as dup:
        if dup.same_request is None:
            raise
        if dup.same_request.get("creation_fingerprint") != doc["creation_fingerprint"]:
            raise key_reused() from None
        return await find(ctx, dup.same_request["_id"]), False
    return await find(ctx, course_id), True


async def change(ctx: ServiceContext, course_id: str, data: CourseUpdate, caller: Principal,
                 expected_version: int) -> Document:
    collection = ctx.db[store.COLLECTION]
    changes: dict[str, Any] = data.model_dump(mode="json", exclude_unset=True)
    async with ctx.locks.hold(store.COLLECTION, course_id):
        current = await find(ctx, course_id)
        require_base(caller, current["training_base_id"], "course")
        if current["version"] != expected_version:
            raise stale(current["version"])
        if "prerequisites" in changes:
            await _check_prerequisites(ctx, course_id, changes["prerequisites"])
        changes["updated_at"] = datetime.now(UTC)
        if not await store.update(collection, course_id, expected_version, changes):
            raise stale((await find(ctx, course_id))["version"])
    return await find(ctx, course_id)


async def find(ctx: ServiceContext, course_id: str) -> Document:
    doc = await store.get(ctx.db[store.COLLECTION], course_id)
    if doc is None:
        raise ProblemError(404, "Not found", f"There is no course {course_id}.", kind="not-found")
    return doc
