"""Store access for sessions, the one place that knows their document shape.

A session document is the aggregate that owns its seats: it holds its enrolments as a map keyed by
enrolment id (`enrolments.<id>`), so taking a seat, promoting the waitlist, completing with a
certificate number and the completion event (outbox) are each ONE single-document update. There is no
second document to write "after", hence no crash window in which a seat is taken but the enrolment
is missing (or the reverse): either the whole update is stored or none of it.

Concurrency: every write is a compare-and-set on `revision` (bumped by every write, while `version`
only counts changes to the session's own details and is its ETag). On MongoDB the CAS alone makes
capacity hold, whatever the number of API replicas. FerretDB 1.x applies an update as
read-modify-replace, so the CAS is not atomic there across connections; the API process therefore
also holds the kit's per-document lock around read-decide-write (DocumentLocks), and sessions are
written by the API process only (the worker never writes them; see talents/projection.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Collection, Document, IndexSpec
from servicekit.outbox import merge_updates, outbox_update

COLLECTION = "sessions"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
    IndexSpec(COLLECTION, (("course_id", 1), ("starts_at", 1))),
    IndexSpec(COLLECTION, (("talent_ids", 1),)),
)

INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint")
# Enrolments are private: public reads of a session leave them out.
PUBLIC_PROJECTION = {f: 0 for f in (*INTERNAL_FIELDS, "enrolments", "talent_ids")}


class DuplicateSession(Exception):
    def __init__(self, same_request: Document | None) -> None:
        self.same_request = same_request


async def insert(collection: Collection, document: Document) -> None:
    try:
        await collection.insert_one(document)
    except DuplicateKeyError as exc:
        raise DuplicateSession(await collection.find_one({"creation_key": document["creation_key"]})) from exc


async def get_public(collection: Collection, session_id: str) -> Document | None:
    return await collection.find_one({"_id": session_id}, PUBLIC_PROJECTION)


async def get_full(collection: Collection, session_id: str) -> Document | None:
    """The whole aggregate, enrolments included (without the outbox)."""
    return await collection.find_one({"_id": session_id}, {"outbox": 0})


async def write(collection: Collection, session_id: str, revision: int, changes: dict[str, Any],
                events: Sequence[CloudEvent] = (), *, details_changed: bool = False) -> bool:
    """Apply `changes` ($set) and queue `events` if the document is still at `revision`."""
    increments = {"revision": 1, **({"version": 1} if details_changed else {})}
    update = merge_updates({"$set": changes, "$inc": increments}, outbox_update(events) if events else {})
    result = await collection.update_one({"_id": session_id, "revision": revision}, update)
    return result.modified_count == 1


async def page(collection: Collection, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    query = dict(filters)
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = collection.find(query, PUBLIC_PROJECTION).sort("_id", 1).limit(limit)
    return [doc async for doc in cursor]


async def of_talent(collection: Collection, talent_id: str, course_ids: list[str] | None = None) -> list[Document]:
    """Sessions in which the talent has (or had) an enrolment, whole, optionally of some courses."""
    query: dict[str, Any] = {"talent_ids": talent_id}
    if course_ids is not None:
        query["course_id"] = {"$in": course_ids}
    return [doc async for doc in collection.find(query, {"outbox": 0})]


async def summaries(collection: Collection) -> list[Document]:
    """What the operator metrics need of every session."""
    fields = {"capacity": 1, "seats_taken": 1, "counts": 1, "starts_at": 1, "ends_at": 1}
    return [doc async for doc in collection.find({}, fields)]
