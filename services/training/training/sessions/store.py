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

import asyncio
from datetime import UTC, datetime
from typing import Any

from servicekit import aggregates, tallies
from servicekit.aggregates import Aggregate
from servicekit.mongo import PROCESS_LOCKS, Database, Document, IndexSpec

COLLECTION = "sessions"

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
)
# A talent's sessions: `_id` = talent id, `session_ids` = the sessions it was ever enrolled in (see `of_talent`).
TALENT_SESSIONS = "talent_sessions"

INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint", "last_change")
# Enrolments are private: public reads of a session leave them out.
PUBLIC_PROJECTION = {f: 0 for f in (*INTERNAL_FIELDS, tallies.TALLIED, "enrolments", "talent_ids")}


# --- The domain gauges, kept with every change (servicekit.tallies) ------------------------------------
#
# Sessions by phase and the free seats of sessions not ended depend on the clock, so a session is
# counted by the times that decide them: in the tally of the month it ends (`ENDING_TALLY` + YYYY-MM),
# its start and end (whole seconds, UTC) and its free seats keyed by its end. The gauges read the
# overall tally and the tallies of the months that have not ended yet (see training.background), so
# their cost grows with the sessions still to come, not with every session ever held.
SESSIONS_TALLY = "training-sessions"
ENDING_TALLY = "training-sessions-ending:"


def _seconds(moment: datetime) -> int:
    return int((moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp())


def ending_month(moment: datetime) -> str:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m")


def contribution(doc: Document) -> dict[str, dict[str, int]]:
    """What one session adds to the gauges' tallies: in `SESSIONS_TALLY` the session, the month it ends
    and its enrolments by state; in its ending month's tally its start, its end and its free seats."""
    ends = doc["ends_at"]
    month = tallies.key(ending_month(ends))
    overall = {"sessions": 1, f"ending_months.{month}": 1}
    # From the enrolments themselves rather than the session's `counts` (a summary of them): one source.
    for entry in (doc.get("enrolments") or {}).values():
        path = f"enrolments.{tallies.key(entry['state'])}"
        overall[path] = overall.get(path, 0) + 1
    end = _seconds(ends)
    free = max(int(doc["capacity"]) - int(doc.get("seats_taken") or 0), 0)
    return {SESSIONS_TALLY: overall,
            ENDING_TALLY + month: {f"starts.t{_seconds(doc['starts_at'])}": 1, f"ends.t{end}": 1,
                                   f"free.t{end}": free}}


# Every change goes through the kit's unit of work (servicekit.aggregates). Its compare-and-set (on
# MongoDB) guards `revision`, which every write bumps; `version` is the details' ETag. The gauges'
# tallies follow every change (`contribution`).
EVERY_SESSION = "sessions"
BY_COURSE = "sessions_by_course"
BY_BASE = "sessions_by_base"
AGGREGATE = Aggregate(COLLECTION, version_field="revision", tallied=contribution, listed=lambda doc: {
    # The list page's lookups (servicekit.lookups): every session, by course and by training base.
    EVERY_SESSION: [aggregates.EVERYTHING], BY_COURSE: [doc.get("course_id")],
    BY_BASE: [doc.get("training_base_id")]})



async def get_public(db: Database, session_id: str) -> Document | None:
    return await db[COLLECTION].find_one({"_id": session_id}, PUBLIC_PROJECTION)


async def get_full(db: Database, session_id: str) -> Document | None:
    """The whole aggregate, enrolments included (without the outbox)."""
    return await db[COLLECTION].find_one({"_id": session_id}, {"outbox": 0, "last_change": 0, tallies.TALLIED: 0})


def write_update(changes: dict[str, Any], *, details_changed: bool = False) -> dict[str, dict[str, Any]]:
    """The update that stores `changes`; the unit of work adds the revision bump and the events."""
    return {"$set": changes, **({"$inc": {"version": 1}} if details_changed else {})}


async def page(db: Database, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    return await aggregates.filtered_page(db, AGGREGATE, filters, after=after, limit=limit,
                                          by={"course_id": BY_COURSE, "training_base_id": BY_BASE},
                                          everything=EVERY_SESSION, projection=PUBLIC_PROJECTION)


async def add_talent(db: Database, talent_id: str, session_id: str) -> None:
    """Index the session under the talent, BEFORE the session write that enrols it (the caller holds the
    session's lock), so an enrolled talent's index always lists the session. A write that then fails
    leaves an entry whose session does not list the talent: `of_talent` skips it."""
    async with PROCESS_LOCKS.hold(TALENT_SESSIONS, talent_id):
        await db[TALENT_SESSIONS].update_one({"_id": talent_id}, {"$addToSet": {"session_ids": session_id}},
                                             upsert=True)


async def of_talent(db: Database, talent_id: str, course_ids: list[str] | None = None) -> list[Document]:
    """Sessions in which the talent has (or had) an enrolment, whole, optionally of some courses: the
    talent's index document, then each session by `_id`."""
    index = await db[TALENT_SESSIONS].find_one({"_id": talent_id})
    session_ids = [str(s) for s in (index or {}).get("session_ids") or []]
    found = await asyncio.gather(*(get_full(db, session_id) for session_id in session_ids))
    return [doc for doc in found
            if doc is not None and talent_id in (doc.get("talent_ids") or [])
            and (course_ids is None or doc.get("course_id") in course_ids)]
