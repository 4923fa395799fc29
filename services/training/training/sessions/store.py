"""Store access for sessions, the one place that knows their document shape.

A session document is the aggregate that owns its seats: it holds its enrolments as a map keyed by
enrolment id (`enrolments.<id>`), so taking a seat, promoting the waitlist, completing with a
certificate number and the completion event (outbox) are each ONE single-document update. There is no
second document to write "after", hence no crash window in which a seat is taken but the enrolment
is missing (or the reverse): either the whole update is stored or none of it.

Concurrency: every write goes through the kit's unit of work (servicekit.aggregates): on MongoDB a
compare-and-set on `revision` (bumped by every write, while `version` only counts changes to the
session's own details and is its ETag), so capacity holds whatever the number of API replicas; on
FerretDB a write by `_id` under the process's lock on the session (its only indexed filter), which is
why sessions are written by the API process only (the worker never writes them; see
talents/projection.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "sessions"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
    IndexSpec(COLLECTION, (("course_id", 1), ("starts_at", 1))),
    IndexSpec(COLLECTION, (("talent_ids", 1),)),
)

INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint", "last_change")
# Enrolments are private: public reads of a session leave them out.
PUBLIC_PROJECTION = {f: 0 for f in (*INTERNAL_FIELDS, "enrolments", "talent_ids")}


# Every change goes through the kit's unit of work (servicekit.aggregates). Its compare-and-set (on
# MongoDB) guards `revision`, which every write bumps; `version` is the details' ETag.
AGGREGATE = Aggregate(COLLECTION, version_field="revision")


async def insert(db: Database, document: Document, events: Sequence[CloudEvent] = ()) -> None:
    """Raises aggregates.DuplicateCreation (with what an earlier request with this key created)."""
    await aggregates.create(db, AGGREGATE, document, events)


async def get_public(db: Database, session_id: str) -> Document | None:
    return await db[COLLECTION].find_one({"_id": session_id}, PUBLIC_PROJECTION)


async def get_full(db: Database, session_id: str) -> Document | None:
    """The whole aggregate, enrolments included (without the outbox)."""
    return await db[COLLECTION].find_one({"_id": session_id}, {"outbox": 0, "last_change": 0})


def write_update(changes: dict[str, Any], *, details_changed: bool = False) -> dict[str, dict[str, Any]]:
    """The update that stores `changes`; the unit of work adds the revision bump and the events."""
    return {"$set": changes, **({"$inc": {"version": 1}} if details_changed else {})}


async def page(db: Database, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    query = dict(filters)
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = db[COLLECTION].find(query, PUBLIC_PROJECTION).sort("_id", 1).limit(limit)
    return [doc async for doc in cursor]


async def of_talent(db: Database, talent_id: str, course_ids: list[str] | None = None) -> list[Document]:
    """Sessions in which the talent has (or had) an enrolment, whole, optionally of some courses."""
    query: dict[str, Any] = {"talent_ids": talent_id}
    if course_ids is not None:
        query["course_id"] = {"$in": course_ids}
    return [doc async for doc in db[COLLECTION].find(query, {"outbox": 0, "last_change": 0})]


async def summaries(db: Database) -> list[Document]:
    """What the operator metrics need of every session."""
    fields = {"capacity": 1, "seats_taken": 1, "counts": 1, "starts_at": 1, "ends_at": 1}
    return [doc async for doc in db[COLLECTION].find({}, fields)]
