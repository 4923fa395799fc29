"""Use cases for enrolments: the state machine, seats, waitlist, assessment and certificates together.

Every change follows one pattern (`_Change`): under the API process's lock on the session document,
read the whole session, decide with the pure rules of `enrolments.domain`, let waiting enrolments take
any seat that is free (FIFO promotion), and store everything, events included, in one compare-and-set
update of the session document (see sessions/store.py for why that is enough without transactions).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit import aggregates
from servicekit.auth import Principal, Role
from servicekit.events.envelope import CloudEvent
from servicekit.http import fingerprint, key_reused
from servicekit.mongo import Database, Document, IndexSpec
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from training.bases import manages_base
from training.courses import store as course_store
from training.enrolments.domain import (
    OPEN,
    Action,
    EnrolmentState,
    Seat,
    TransitionRefused,
    booking_outcome,
    certificate_number,
    enrolment_id,
    missing_prerequisites,
    next_state,
    passes,
    promotions,
    seats_taken,
    session_of,
)
from training.enrolments.events import EnrolmentCompleted
from training.sessions import store as session_store
from training.sessions.events import SessionUpdated
from training.talents import projection as talents
from training.talents.domain import may_take_part

SOURCE = "/ipo/training"
SYSTEM = "system"

COUNTERS = "counters"
CERTIFICATES = "certificates"
INDEXES = (IndexSpec(CERTIFICATES, (("enrolment_id", 1),)),)


# --- reading ----------------------------------------------------------------------------------------

def seats_of(session: Document) -> list[Seat]:
    return [Seat(eid, e["talent_id"], EnrolmentState(e["state"]), e.get("queue_position"))
            for eid, e in session.get("enrolments", {}).items()]


async def may_see(db: Database, caller: Principal, session: Document, entry: Document) -> bool:
    """Enrolments are private: the talent itself, its session's base and officers see one."""
    if manages_base(caller, session["training_base_id"]):
        return True
    return await talents.acts_as_talent(db, caller, entry["talent_id"])


def not_found(enrolment: str) -> ProblemError:
    return ProblemError(404, "Not found", f"There is no enrolment {enrolment} you may see.", kind="not-found")


async def _session_holding(ctx: ServiceContext, enrolment: str) -> Document:
    session_id = session_of(enrolment)
    session = await session_store.get_full(ctx.db, session_id) if session_id else None
    if session is None or enrolment not in session.get("enrolments", {}):
        raise not_found(enrolment)
    return session


async def find(ctx: ServiceContext, enrolment: str, caller: Principal) -> tuple[Document, Document]:
    """The session and the enrolment entry, if the caller may see it (404 otherwise)."""
    session = await _session_holding(ctx, enrolment)
    entry = session["enrolments"][enrolment]
    if not await may_see(ctx.db, caller, session, entry):
        raise not_found(enrolment)
    return session, entry


async def of_session(ctx: ServiceContext, session_id: str, caller: Principal,
                     state: EnrolmentState | None) -> tuple[Document, list[tuple[str, Document]]]:
    session = await session_store.get_full(ctx.db, session_id)
    if session is None:
        raise ProblemError(404, "Not found", f"There is no session {session_id}.", kind="not-found")
    if not manages_base(caller, session["training_base_id"]):
        raise ProblemError(403, "Forbidden", "Only the session's training base (or officers) may list its "
                           "enrolments.", kind="other-training-base")
    entries = sorted(session.get("enrolments", {}).items())
    return session, [(eid, e) for eid, e in entries if state is None or e["state"] == state]


async def of_talent(ctx: ServiceContext, talent_id: str, caller: Principal) -> list[tuple[Document, str, Document]]:
    """A talent's enrolments the caller may see (a coordinator sees those of its own base)."""
    staff = caller.has_any([Role.COORDINATOR, Role.OFFICER])
    if not (staff or await talents.acts_as_talent(ctx.db, caller, talent_id)):
        raise ProblemError(404, "Not found", f"There is no talent {talent_id} you may see.", kind="not-found")
    found = []
    for session in await session_store.of_talent(ctx.db, talent_id):
        for eid, entry in sorted(session.get("enrolments", {}).items()):
            if entry["talent_id"] == talent_id and await may_see(ctx.db, caller, session, entry):
                found.append((session, eid, entry))
    return found


async def completed_courses(db: Database, talent_id: str, course_ids: list[str]) -> set[str]:
    """Which of these courses the talent completed, in training's own records."""
    done = set()
    for session in await session_store.of_talent(db, talent_id, course_ids):
        for entry in session.get("enrolments", {}).values():
            if entry["talent_id"] == talent_id and entry["state"] == EnrolmentState.COMPLETED:
                done.add(session["course_id"])
    return done


# --- changing ---------------------------------------------------------------------------------------

@dataclass
class _Change:
    """One single-document change of a session: changed enrolments and the events they cause."""

    session: Document
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    changed: dict[str, Document] = field(default_factory=dict)
    events: list[CloudEvent] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def entry(self, enrolment: str) -> Document:
        if enrolment not in self.changed:
            self.changed[enrolment] = copy.deepcopy(self.session["enrolments"][enrolment])
        return self.changed[enrolment]

    def apply(self, enrolment: str, action: Action, by: str, reason: str | None = None) -> Document:
        entry = self.entry(enrolment)
        try:
            state = next_state(EnrolmentState(entry["state"]), action)
        except TransitionRefused as exc:
            raise ProblemError(409, "Transition refused", str(exc), kind="transition-refused",
                               state=entry["state"]) from None
        entry["state"] = state.value
        entry["version"] += 1
        entry["updated_at"] = self.now
        if state == EnrolmentState.WAITLISTED:
            last: int = self.extra["queue_seq"] if "queue_seq" in self.extra else self.session.get("queue_seq", 0)
            self.extra["queue_seq"] = last + 1
            entry["queue_position"] = self.extra["queue_seq"]
        elif entry.get("queue_position") is not None:
            entry["queue_position"] = None
        if state == EnrolmentState.CANCELLED:
            entry["cancel_reason"] = reason
        entry["history"].append({"state": state.value, "at": self.now, "by": by, "reason": reason})
        return entry

    def merged(self) -> dict[str, Document]:
        return {**self.session.get("enrolments", {}), **self.changed}


async def _promote_waitlist(ctx: ServiceContext, change: _Change) -> None:
    """FIFO: give every free seat to the longest-waiting waitlisted talent who may take part."""
    merged = change.merged()
    waiting = sorted({e["talent_id"] for e in merged.values() if e["state"] == EnrolmentState.WAITLISTED})
    statuses = await talents.statuses(ctx.db, waiting)
    eligible = {t for t in waiting if may_take_part(statuses.get(t))}
    seats = [Seat(eid, e["talent_id"], EnrolmentState(e["state"]), e.get("queue_position"))
             for eid, e in merged.items()]
    for promoted in promotions(seats, change.session["capacity"], eligible):
        change.apply(promoted, Action.PROMOTE, SYSTEM, "a seat became free")


async def _save(ctx: ServiceContext, unit: aggregates.Change, change: _Change, *,
                details: dict[str, Any] | None = None) -> None:
    """Promote the waitlist, then store the change as one single-document write of the session."""
    await _promote_waitlist(ctx, change)
    merged = change.merged()
    # Every state's count by its own path: FerretDB 1.24 skips a `$set` of a whole embedded document
    # whose values equal the stored one's in order, whatever their names ({"requested": 1} stayed where
    # {"approved": 1} was set), so `counts` is never replaced as a whole.
    counts = dict.fromkeys((f"counts.{s.value}" for s in EnrolmentState), 0)
    for entry in merged.values():
        counts[f"counts.{entry['state']}"] += 1
    seats = [Seat(eid, e["talent_id"], EnrolmentState(e["state"])) for eid, e in merged.items()]
    fields: dict[str, Any] = {f"enrolments.{eid}": entry for eid, entry in change.changed.items()}
    fields.update(counts)
    fields.update({"seats_taken": seats_taken(seats),
                   "talent_ids": sorted({e["talent_id"] for e in merged.values()})})
    fields.update(change.extra)
    fields.update(details or {})
    try:
        await unit.write(session_store.write_update(fields, details_changed=details is not None), change.events)
    except aggregates.StaleVersion:
        # Only possible when another process wrote meanwhile (several API replicas on MongoDB).
        raise ProblemError(409, "Concurrent change", "The session changed while this request was being "
                           "decided; nothing was stored. Retry.", kind="concurrent-change") from None


@asynccontextmanager
async def _session_unit(ctx: ServiceContext, session_id: str) -> AsyncIterator[tuple[aggregates.Change, Document]]:
    async with aggregates.change(ctx.db, session_store.AGGREGATE, session_id,
                                 keep=("creation_key", "creation_fingerprint")) as unit:
        if unit.document is None:
            raise ProblemError(404, "Not found", f"There is no session {session_id}.", kind="not-found")
        yield unit, unit.document


@asynccontextmanager
async def _changing(ctx: ServiceContext, session_id: str) -> AsyncIterator[_Change]:
    async with _session_unit(ctx, session_id) as (unit, session):
        change = _Change(session)
        yield change
        if change.changed or change.extra:
            await _save(ctx, unit, change)


async def _talent_must_take_part(ctx: ServiceContext, talent_id: str) -> Document:
    talent = await talents.get(ctx.db, talent_id)
    if talent is None:
        raise ProblemError(422, "Unknown talent", f"Training knows no talent {talent_id} (talents come from the "
                           "registry's events; a newly registered one may take a moment).", kind="unknown-talent",
                           errors=[{"pointer": "#/talent_id", "detail": "unknown to training"}])
    if not may_take_part(talent["status"]):
        raise ProblemError(409, "Talent not active", f"Talent {talent_id} is {talent['status']} in the registry, so "
                           "it cannot enrol, book, attend or be assessed.", kind="talent-not-active",
                           talent_status=talent["status"])
    return talent


def _check_same(entry: Document, expected: int | None) -> None:
    if expected is not None and entry["version"] != expected:
        current = f"\"{entry['version']}\""
        raise ProblemError(412, "Precondition failed", f"The enrolment changed since you read it; its ETag is now "
                           f"{current}.", kind="precondition-failed", current_etag=current)


async def request(ctx: ServiceContext, session_id: str, talent_id: str, caller: Principal,
                  idempotency_key: str | None) -> tuple[str, bool]:
    """A talent asks for a place (itself, or through its coordinator). Returns the enrolment id and whether
    it was created now (False: a replayed request with the same Idempotency-Key)."""
    key = f"{caller.subject}:{idempotency_key}" if idempotency_key else None
    body_print = fingerprint({"talent_id": talent_id})
    async with _changing(ctx, session_id) as change:
        session = change.session
        if key is not None:
            for eid, entry in session.get("enrolments", {}).items():
                if entry.get("creation_key") == key:
                    if entry.get("creation_fingerprint") != body_print:
                        raise key_reused()
                    return eid, False
        own_base = manages_base(caller, session["training_base_id"])
        if not (own_base or await talents.acts_as_talent(ctx.db, caller, talent_id)):
            raise ProblemError(403, "Forbidden", "A talent enrols itself; coordinators enrol talents in their own "
                               "base's sessions.", kind="forbidden")
        if session["ends_at"] <= change.now:
            raise ProblemError(409, "Session over", f"Session {session_id} has ended.", kind="session-over")
        await _talent_must_take_part(ctx, talent_id)
        # One enrolment per talent and session; only after a cancellation may the talent ask again.
        if any(e["talent_id"] == talent_id and e["state"] != EnrolmentState.CANCELLED
               for e in session.get("enrolments", {}).values()):
            raise ProblemError(409, "Already enrolled", f"Talent {talent_id} already has an enrolment in this "
                               "session (only a cancelled one may be replaced).", kind="already-enrolled")
        course = await course_store.get(ctx.db, session["course_id"])
        required = list(course.get("prerequisites", [])) if course else []
        missing = missing_prerequisites(required, await completed_courses(ctx.db, talent_id, required))
        if missing:
            raise ProblemError(409, "Prerequisites missing", f"Talent {talent_id} has not completed the prerequisite "
                               f"courses: {', '.join(missing)}.", kind="prerequisites-missing",
                               missing_courses=missing)
        number = session.get("enrolment_seq", 0) + 1
        eid = enrolment_id(session_id, number)
        change.extra["enrolment_seq"] = number
        change.changed[eid] = {
            "talent_id": talent_id, "state": EnrolmentState.REQUESTED.value, "version": 1,
            "requested_at": change.now, "updated_at": change.now, "requested_by": caller.subject,
            "queue_position": None, "score": None, "passed": None, "certificate_number": None,
            "completed_at": None, "cancel_reason": None,
            "creation_key": key, "creation_fingerprint": body_print,
            "history": [{"state": EnrolmentState.REQUESTED.value, "at": change.now, "by": caller.subject,
                         "reason": None}],
        }
        # The talent's index of sessions first, so it always lists a session the talent is enrolled in.
        await session_store.add_talent(ctx.db, talent_id, session_id)
    return eid, True


async def _coordinated(ctx: ServiceContext, enrolment: str, caller: Principal) -> Document:
    """The session, if the caller coordinates its base: 404 to those who may not see the enrolment,
    403 to the talent itself (it sees it but this is the coordinator's decision)."""
    session, _ = await find(ctx, enrolment, caller)
    if not manages_base(caller, session["training_base_id"]):
        raise ProblemError(403, "Forbidden", "Only the session's training base (or officers) may do this.",
                           kind="forbidden")
    return session


async def approve(ctx: ServiceContext, enrolment: str, caller: Principal, expected: int | None) -> None:
    session = await _coordinated(ctx, enrolment, caller)
    async with _changing(ctx, session["_id"]) as change:
        entry = change.entry(enrolment)
        _check_same(entry, expected)
        await _talent_must_take_part(ctx, entry["talent_id"])
        change.apply(enrolment, Action.APPROVE, caller.subject)


async def book(ctx: ServiceContext, enrolment: str, caller: Principal, expected: int | None) -> None:
    """Take a seat, or join the waitlist when none is free (the talent itself or its coordinator)."""
    session, _ = await find(ctx, enrolment, caller)
    async with _changing(ctx, session["_id"]) as change:
        entry = change.entry(enrolment)
        _check_same(entry, expected)
        await _talent_must_take_part(ctx, entry["talent_id"])
        # Anyone already waiting (say, reinstated after a suspension) gets a free seat first: FIFO.
        await _promote_waitlist(ctx, change)
        outcome = booking_outcome(seats_of({"enrolments": change.merged()}), change.session["capacity"])
        change.apply(enrolment, outcome, caller.subject)


async def cancel(ctx: ServiceContext, enrolment: str, caller: Principal, reason: str, expected: int | None) -> None:
    """Withdraw (the talent) or refuse/cancel (the coordinator); a freed seat goes to the waitlist."""
    session, _ = await find(ctx, enrolment, caller)
    async with _changing(ctx, session["_id"]) as change:
        _check_same(change.entry(enrolment), expected)
        change.apply(enrolment, Action.CANCEL, caller.subject, reason)


async def record_no_show(ctx: ServiceContext, enrolment: str, caller: Principal, expected: int | None) -> None:
    session = await _coordinated(ctx, enrolment, caller)
    async with _changing(ctx, session["_id"]) as change:
        _check_same(change.entry(enrolment), expected)
        change.apply(enrolment, Action.NO_SHOW, caller.subject)


async def record_attendance(ctx: ServiceContext, enrolment: str, caller: Principal, expected: int | None) -> None:
    session = await _coordinated(ctx, enrolment, caller)
    async with _changing(ctx, session["_id"]) as change:
        entry = change.entry(enrolment)
        _check_same(entry, expected)
        await _talent_must_take_part(ctx, entry["talent_id"])
        change.apply(enrolment, Action.ATTEND, caller.subject)


async def assess(ctx: ServiceContext, enrolment: str, caller: Principal, score: int, expected: int | None) -> None:
    """Record the score; a pass completes the enrolment, issues its certificate number and publishes
    enrolment.completed, all in the session's one update."""
    session = await _coordinated(ctx, enrolment, caller)
    async with _changing(ctx, session["_id"]) as change:
        entry = change.entry(enrolment)
        _check_same(entry, expected)
        if entry["state"] != EnrolmentState.ATTENDED:
            raise ProblemError(409, "Transition refused", f"Only an attended enrolment can be assessed; this one is "
                               f"{entry['state']}.", kind="transition-refused", state=entry["state"])
        talent = await _talent_must_take_part(ctx, entry["talent_id"])
        course = await course_store.get(ctx.db, change.session["course_id"])
        if course is None:
            raise ProblemError(409, "Course missing", "The session's course no longer exists.", kind="course-missing")
        entry["score"] = score
        entry["passed"] = passes(score, course["pass_mark"])
        if not entry["passed"]:
            entry["version"] += 1
            entry["updated_at"] = change.now
            entry["history"].append({"state": entry["state"], "at": change.now, "by": caller.subject,
                                     "reason": f"assessed {score}, below the pass mark {course['pass_mark']}"})
            return
        number = await _reserve_certificate(ctx, enrolment, change.session, course, talent, score, change.now)
        change.apply(enrolment, Action.COMPLETE, caller.subject, f"assessed {score}")
        entry["certificate_number"] = number
        entry["completed_at"] = change.now
        payload = EnrolmentCompleted(
            enrolment_id=enrolment, talent_id=entry["talent_id"], course_id=course["_id"],
            course_title=course["title"], session_id=change.session["_id"],
            credit_hours=Decimal(course["credit_hours"]), categories=list(course.get("categories", [])),
            certificate_number=number, score=score, completed_at=change.now,
        )
        change.events.append(CloudEvent.new(SOURCE, enrolment, payload))


async def _reserve_certificate(ctx: ServiceContext, enrolment: str, session: Document, course: Document,
                               talent: Document, score: int, now: datetime) -> str:
    """Take the next number of the year and record the certificate under it (its _id, so it is unique).

    The certificate document is written BEFORE the completion; the public check only vouches for it
    when the enrolment holds the same number, so a crash in between leaves an unused number (a gap
    in the sequence), never a certificate for an incomplete course or one number twice.
    """
    counter_id = f"certificates-{now.year}"
    while True:
        number = certificate_number(now.year, await aggregates.next_in_sequence(ctx.db, COUNTERS, counter_id))
        try:
            await ctx.db[CERTIFICATES].insert_one({
                "_id": number, "enrolment_id": enrolment, "session_id": session["_id"],
                "talent_id": talent["_id"], "talent_name": talent.get("name"), "course_id": course["_id"],
                "course_title": course["title"], "credit_hours": course["credit_hours"],
                "training_base_id": session["training_base_id"], "score": score, "completed_at": now,
            })
            return number
        except DuplicateKeyError:
            continue  # a number taken outside this counter (e.g. a restored counter): take the next


async def certificate(ctx: ServiceContext, number: str) -> Document:
    """A certificate, only if its enrolment really completed with this number (public)."""
    doc = await ctx.db[CERTIFICATES].find_one({"_id": number})
    if doc is not None:
        session = await session_store.get_full(ctx.db, doc["session_id"])
        entry = (session or {}).get("enrolments", {}).get(doc["enrolment_id"])
        if entry is not None and entry.get("certificate_number") == number:
            return doc
    raise ProblemError(404, "Not found", f"No certificate {number} was issued.", kind="not-found")


async def cancel_open_enrolments_of(ctx: ServiceContext, talent_id: str, reason: str) -> int:
    """Cancel the talent's open enrolments in sessions that have not ended (removal policy, see
    talents/domain.py); freed seats go to the waitlist. Idempotent: a second run finds none open."""
    cancelled = 0
    now = datetime.now(UTC)
    for session in await session_store.of_talent(ctx.db, talent_id):
        if session["ends_at"] <= now:
            continue
        async with _changing(ctx, session["_id"]) as change:
            for eid, entry in change.session.get("enrolments", {}).items():
                if entry["talent_id"] == talent_id and entry["state"] in OPEN:
                    change.apply(eid, Action.CANCEL, SYSTEM, reason)
                    cancelled += 1
    return cancelled


async def change_details(ctx: ServiceContext, session_id: str, details: dict[str, Any],
                         check: Callable[[Document], None]) -> None:
    """Change a session's own details (capacity included) and let the waitlist take new seats at once.
    `check` sees the current session under the lock and raises to refuse the change."""
    async with _session_unit(ctx, session_id) as (unit, session):
        check(session)
        # The new details (a larger capacity, say) are what the promotion must see.
        change = _Change({**session, **details})
        after = {**session, **details}
        # The session's public details as they are now, for those who list sessions (publicity).
        change.events.append(CloudEvent.new("/ipo/training", session_id, SessionUpdated(
            session_id=session_id, course_id=after["course_id"], course_title=after["course_title"],
            training_base_id=after["training_base_id"], starts_at=after["starts_at"], ends_at=after["ends_at"],
            venue=after["venue"], capacity=int(after["capacity"]), version=int(session["version"]) + 1,
            occurred_at=change.now)))
        await _save(ctx, unit, change, details=details)
