"""Publicity's projection of training's sessions, fed by training's `session.scheduled` and
`session.updated` events (worker): a campaign's page lists the sessions whose dates fall inside it.
Applied once per event, and only when newer than what is stored (`stage`: 1 when scheduled, then the
session's version), so a late or redelivered snapshot never undoes a reschedule."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from servicekit.consumer import EventHandlers
from servicekit.events.envelope import EVENT_TYPE_PREFIX, CloudEvent, ConsumedPayload
from servicekit.mongo import Database, Document, apply_once

from publicity.common import now

COLLECTION = "sessions"
TRAINING_TOPIC = "training.events"


class SessionScheduledV1(ConsumedPayload):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.training.session.scheduled.v1"

    session_id: str
    course_title: str
    starts_at: datetime
    ends_at: datetime
    venue: str


async def all_sessions(db: Database) -> list[Document]:
    """Every projected session (hundreds a year; see store_scans.py)."""
    return [d async for d in db[COLLECTION].find({}, {"applied_events": 0})]


async def project(db: Database, event: CloudEvent, payload: SessionScheduledV1) -> bool:
    fields = {"course_title": payload.course_title, "starts_at": payload.starts_at, "ends_at": payload.ends_at,
              "venue": payload.venue, "projected_at": now(), "stage": 1}
    return await apply_once(db[COLLECTION], payload.session_id, event.id, {"$set": fields}, newer_than=("stage", 1))


class SessionUpdatedV1(ConsumedPayload):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.training.session.updated.v1"

    session_id: str
    course_title: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    version: int


async def project_update(db: Database, event: CloudEvent, payload: SessionUpdatedV1) -> bool:
    fields = {"course_title": payload.course_title, "starts_at": payload.starts_at, "ends_at": payload.ends_at,
              "venue": payload.venue, "projected_at": now(), "stage": payload.version}
    return await apply_once(db[COLLECTION], payload.session_id, event.id, {"$set": fields},
                            newer_than=("stage", payload.version))


def register_handlers(handlers: EventHandlers) -> None:
    handlers.on(TRAINING_TOPIC, SessionScheduledV1)(project)
    handlers.on(TRAINING_TOPIC, SessionUpdatedV1)(project_update)
