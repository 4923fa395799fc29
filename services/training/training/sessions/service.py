"""Use cases for sessions' own details: rules and store together, free of HTTP. (Their enrolments are
changed by enrolments/service.py, in the same documents.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint, stale
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from training.bases import require_base
from training.courses import service as courses
from training.enrolments import service as enrolments
from training.enrolments.domain import capacity_change_allowed
from training.sessions import store
from training.sessions.events import SessionScheduled
from training.sessions.models import SessionCreate, SessionUpdate


async def create(ctx: ServiceContext, course_id: str, data: SessionCreate, caller: Principal,
                 idempotency_key: str | None) -> tuple[Document, bool]:
    course = await courses.find(ctx, course_id)
    require_base(caller, course["training_base_id"], "course's sessions")
    body = data.model_dump(mode="json")
    now = datetime.now(UTC)
    doc: Document = {
        "_id": uuid.uuid4().hex, "course_id": course_id, "course_title": course["title"],
        "training_base_id": course["training_base_id"], "starts_at": data.starts_at, "ends_at": data.ends_at,
        "venue": data.venue, "capacity": data.capacity, "coordinator": data.coordinator or caller.subject,
        "seats_taken": 0, "counts": {}, "enrolments": {}, "talent_ids": [], "enrolment_seq": 0, "queue_seq": 0,
        "version": 1, "revision": 1, "created_at": now, "updated_at": now,
        "creation_key": creation_key(caller.subject, idempotency_key),
        "creation_fingerprint": fingerprint({"course_id": course_id, **body}),
    }
    scheduled = CloudEvent.new("/ipo/training", doc["_id"], SessionScheduled(
        session_id=doc["_id"], course_id=course_id, course_title=course["title"],
        training_base_id=course["training_base_id"], starts_at=data.starts_at, ends_at=data.ends_at,
        venue=data.venue, capacity=data.capacity, occurred_at=now))
    stored_id, created = await aggregates.create_or_replay(ctx.db, store.AGGREGATE, doc, [scheduled])
    return await find(ctx, stored_id), created


async def change(ctx: ServiceContext, session_id: str, data: SessionUpdate, caller: Principal,
                 expected_version: int) -> Document:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        nulls = [k for k, v in changes.items() if v is None]
        raise ProblemError(422, "Invalid request", f"{', '.join(nulls)}: cannot be null", kind="validation",
                           errors=[{"pointer": f"#/{k}", "detail": "cannot be null"} for k in nulls])

    def check(current: Document) -> None:
        require_base(caller, current["training_base_id"], "session")
        if current["version"] != expected_version:
            raise stale(current["version"])
        starts: datetime = changes.get("starts_at") or current["starts_at"]
        ends: datetime = changes.get("ends_at") or current["ends_at"]
        if ends <= starts:
            raise ProblemError(422, "Invalid request", "ends_at must be after starts_at", kind="validation",
                               errors=[{"pointer": "#/ends_at", "detail": "not after starts_at"}])
        capacity = int(changes.get("capacity") or current["capacity"])
        if not capacity_change_allowed(enrolments.seats_of(current), capacity):
            raise ProblemError(409, "Capacity too small", f"{current['seats_taken']} seats are already given; "
                               f"the capacity cannot drop to {capacity}.", kind="capacity-too-small",
                               errors=[{"pointer": "#/capacity", "detail": "below the seats given"}])

    changes["updated_at"] = datetime.now(UTC)
    await enrolments.change_details(ctx, session_id, changes, check)
    return await find(ctx, session_id)


async def find(ctx: ServiceContext, session_id: str) -> Document:
    doc = await store.get_public(ctx.db, session_id)
    if doc is None:
        raise ProblemError(404, "Not found", f"There is no session {session_id}.", kind="not-found")
    return doc
