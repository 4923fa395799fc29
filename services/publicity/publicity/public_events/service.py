"""Use cases for public events: planning, registration with a FIFO waitlist, cancellation through the
registrant's link, check-in scans and their reconciliation.

Contact data (name, e-mail, phone) is personal: it is kept in the registration document only, shown to
the registrant (through its unguessable link) and to the event's organisers, and never put in an event
on Kafka, a feed, a log line or a metric label.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from servicekit import aggregates, outcomes
from servicekit.auth import Principal
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint
from servicekit.mongo import Database, Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from publicity import metrics
from publicity.common import SOURCE, as_utc, invalid, not_found, now, rule_refused
from publicity.public_events import store
from publicity.public_events.domain import (
    EventRuleError,
    RegistrationState,
    ScanOutcome,
    admit,
    promotions,
    scan_outcome,
    seats,
    settled,
    state_of,
    waitlist,
)
from publicity.public_events.events import RegistrationCountsChanged
from publicity.public_events.models import EventCreate, RegistrationCreate, ScanCreate

# A scan uploaded more than this after the device made it counts as a late upload.
LATE_AFTER = timedelta(minutes=2)
# A scan writes up to three documents (the check-in, the tally, its record). With less than this left of
# the request's store budget before the first of them, it is refused while nothing has changed (503
# store-unavailable, the gate retries) instead of being cut short after the check-in, when only "the
# outcome is unknown" could be said and the event's count would miss it (servicekit.tallies).
WRITE_RESERVE_SECONDS = 1.5
# At most this many scans at once in a process; the others wait here, before any store call, instead of
# piling up in the store (which writes one at a time), where they would use up their budgets, fail with
# "database is locked" and leave unknown outcomes. A scan admitted with less than ADMIT_WITH_SECONDS of
# its budget left is refused while nothing has changed (503 store-unavailable; the gate retries).
SCANS_AT_ONCE = 8
ADMIT_WITH_SECONDS = 2.5
_scans_at_once = asyncio.Semaphore(SCANS_AT_ONCE)


def _too_busy() -> ProblemError:
    return ProblemError(503, "Store unavailable", "Too many scans at once to record this one in time; nothing was "
                        "changed. Retry the same scan shortly.", kind="store-unavailable", headers={"Retry-After": "1"})


def _time_to_write() -> None:
    left = outcomes.time_left()
    if left is not None and left < WRITE_RESERVE_SECONDS and not outcomes.may_have_written():
        raise _too_busy()


async def plan(ctx: ServiceContext, data: EventCreate, caller: Principal,
               idempotency_key: str | None) -> tuple[Document, bool]:
    if data.ends_at <= data.starts_at:
        raise invalid("#/ends_at", "the event must end after it starts")
    at = now()
    body = data.model_dump(mode="json")
    organisers = sorted({caller.subject, *data.organisers})
    doc: Document = {
        "_id": f"EV-{uuid.uuid4().hex[:16]}", **body, "starts_at": data.starts_at, "ends_at": data.ends_at,
        "organisers": organisers, "registrations": {}, "next_seq": 1,
        "counts": {"confirmed": 0, "waitlisted": 0, "registrations": 0},
        "version": 1, "created_by": caller.subject, "created_at": at, "updated_at": at,
        "creation_key": creation_key(caller.subject, idempotency_key), "creation_fingerprint": fingerprint(body),
    }
    stored_id, created = await aggregates.create_or_replay(ctx.db, store.AGGREGATE, doc)
    return await find(ctx.db, stored_id), created


async def find(db: Database, event_id: str) -> Document:
    doc = await store.get(db, event_id)
    if doc is None:
        raise not_found("event", event_id)
    return doc


def is_organiser(event: Document, caller: Principal | None) -> bool:
    return caller is not None and caller.subject in (event.get("organisers") or [])


async def for_organiser(db: Database, event_id: str, caller: Principal) -> Document:
    """The event, for one of its organisers; 404 for anyone else (they must not learn more)."""
    event = await find(db, event_id)
    if not is_organiser(event, caller):
        raise not_found("event registrations of", event_id)
    return event


def _counts_fields(event: Document, registrations: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], CloudEvent]:
    s = seats(int(event["capacity"]), registrations)
    live = sum(1 for r in registrations.values() if r["state"] != RegistrationState.CANCELLED)
    counts = {"confirmed": s.confirmed, "waitlisted": s.waitlisted, "registrations": live}
    event_out = CloudEvent.new(SOURCE, event["_id"], RegistrationCountsChanged(
        event_id=event["_id"], campaign_id=event.get("campaign_id"), capacity=int(event["capacity"]),
        confirmed_places=s.confirmed, waitlisted_places=s.waitlisted, registrations=live, occurred_at=now()))
    return {"counts": counts, "updated_at": now()}, event_out


async def register(ctx: ServiceContext, event_id: str, data: RegistrationCreate,
                   idempotency_key: str | None) -> tuple[Document, bool]:
    """Take `places` places (confirmed) or a place in the waitlist, all or nothing."""
    event = await find(ctx.db, event_id)
    if as_utc(event["starts_at"]) <= now():
        raise rule_refused("the event has started; registration is closed", kind="registration-closed")
    body = data.model_dump(mode="json")
    registration_id = secrets.token_urlsafe(18)
    ticket = secrets.token_urlsafe(12)
    doc: Document = {
        "_id": registration_id, "event_id": event_id, "places": data.places, "name": data.name,
        "email": str(data.email), "phone": data.phone, "ticket_code": ticket, "checked_in": None,
        "created_at": now(), "version": 1,
        # An Idempotency-Key from an anonymous registrant is scoped to the event.
        "creation_key": creation_key(f"event:{event_id}", idempotency_key), "creation_fingerprint": fingerprint(body),
    }
    stored_id, created = await aggregates.create_or_replay(ctx.db, store.REGISTRATION, doc)
    if not created:
        return await view(ctx.db, stored_id), False
    await ctx.db[store.TICKETS].insert_one({"_id": ticket, "registration_id": registration_id, "event_id": event_id})
    async with aggregates.change(ctx.db, store.AGGREGATE, event_id) as unit:
        current = unit.document
        if current is None:
            raise not_found("event", event_id)
        registrations: dict[str, dict[str, Any]] = dict(current.get("registrations") or {})
        try:
            state = admit(int(current["capacity"]), registrations, data.places)
        except EventRuleError as exc:
            raise rule_refused(str(exc), kind=exc.kind) from exc
        seq = int(current.get("next_seq", 1))
        registrations[registration_id] = {"places": data.places, "state": state.value, "seq": seq}
        fields, out = _counts_fields(current, registrations)
        await unit.write({"$set": {f"registrations.{registration_id}": registrations[registration_id],
                                   "next_seq": seq + 1, **fields}}, [out])
        # Still under the event's lock, so the copies follow the event's changes in their order.
        await _copy_state(ctx.db, registration_id, state.value)
    metrics.registration(state.value)
    return await view(ctx.db, registration_id), True


async def view(db: Database, registration_id: str) -> Document:
    """The registration with its state and waitlist position (from the event, the truth)."""
    doc = await store.registration(db, registration_id)
    if doc is None:
        raise not_found("registration", registration_id)
    event = await store.get(db, doc["event_id"])
    entry = ((event or {}).get("registrations") or {}).get(registration_id)
    if entry is None:  # written, but its event change never happened (a crash in between)
        raise not_found("registration", registration_id)
    state = state_of(doc.get("state"), entry["state"])
    position = None
    if state == RegistrationState.WAITLISTED:
        position = waitlist(event["registrations"]).index(registration_id) + 1  # type: ignore[index]
    return {**doc, "state": state, "waitlist_position": position}


async def _copy_state(db: Database, registration_id: str, state: str) -> None:
    """Write a registration's copy of its state (domain.py says when), called under the event's lock."""
    async with aggregates.change(db, store.REGISTRATION, registration_id) as unit:
        if unit.document is not None and unit.document.get("state") != state:
            await unit.write({"$set": {"state": state}})


async def cancel(ctx: ServiceContext, registration_id: str) -> Document:
    """Give up the places (through the registrant's unguessable link, or by an organiser); the waitlist
    is promoted at once, in the same change of the event."""
    doc = await store.registration(ctx.db, registration_id)
    if doc is None:
        raise not_found("registration", registration_id)
    async with aggregates.change(ctx.db, store.AGGREGATE, doc["event_id"]) as unit:
        current = unit.document
        registrations: dict[str, dict[str, Any]] = dict((current or {}).get("registrations") or {})
        entry = registrations.get(registration_id)
        if current is None or entry is None:
            raise not_found("registration", registration_id)
        if entry["state"] != RegistrationState.CANCELLED:
            registrations[registration_id] = {**entry, "state": RegistrationState.CANCELLED.value}
            promoted = promotions(int(current["capacity"]), registrations)
            for rid in promoted:
                registrations[rid] = {**registrations[rid], "state": RegistrationState.CONFIRMED.value}
            changes = {f"registrations.{rid}": registrations[rid] for rid in (registration_id, *promoted)}
            fields, out = _counts_fields(current, registrations)
            # The copy first: from now on no gate checks this registration in, whether or not the
            # event's change below lands (a retried cancellation finishes it).
            await _copy_state(ctx.db, registration_id, RegistrationState.CANCELLED.value)
            await unit.write({"$set": {**changes, **fields}}, [out])
            for rid in promoted:
                await _copy_state(ctx.db, rid, RegistrationState.CONFIRMED.value)
            metrics.registration("cancelled")
            for _ in promoted:
                metrics.registration("promoted")
    return await view(ctx.db, registration_id)


async def scan(ctx: ServiceContext, event_id: str, data: ScanCreate, caller: Principal) -> tuple[Document, bool]:
    """Record one scan at a gate, successful or not. The nonce is the scan's id: a retried upload of the
    same scan returns the first answer and checks nobody in twice. Returns (scan, created).

    `_id` reads and writes only, and never the event document (it holds every registration's entry): the
    organisers from memory, the scan by nonce, the ticket, then one change of the registration's own
    document (the check-in, with the event's check-in tally kept by the same change), then the scan's
    record. A store failure after the check-in went out answers 503 outcome-unknown (servicekit.outcomes);
    the same nonce again then finds the check-in made by this very scan and records it as `ok`."""
    async with _scans_at_once:
        left = outcomes.time_left()
        if left is not None and left < ADMIT_WITH_SECONDS:
            raise _too_busy()
        return await _scan(ctx, event_id, data, caller)


async def _scan(ctx: ServiceContext, event_id: str, data: ScanCreate, caller: Principal) -> tuple[Document, bool]:
    organisers = await store.organisers(ctx.db, event_id)
    if organisers is None or caller.subject not in organisers:
        raise not_found("event registrations of", event_id)
    async with aggregates.exclusive(store.SCANS, data.nonce):
        earlier = await store.scan(ctx.db, data.nonce)
        if earlier is not None:
            return earlier, False
        server_time = now()
        ticket = await store.ticket(ctx.db, data.ticket_code)
        registration_id = ticket["registration_id"] if ticket else None
        outcome = ScanOutcome.UNKNOWN
        if ticket is not None:
            outcome = await _check_in(ctx, ticket, event_id, data, server_time)
        late = data.offline or (server_time - as_utc(data.scanned_at)) > LATE_AFTER
        record: Document = {
            "_id": data.nonce, "event_id": event_id, "registration_id": registration_id,
            "outcome": outcome.value, "device_id": data.device_id, "gate": data.gate,
            "client_time": data.scanned_at, "server_time": server_time, "offline": data.offline,
            "late_upload": late, "scanned_by": caller.subject,
        }
        _time_to_write()  # when the record is its first write (none after a check-in went out)
        try:
            await aggregates.create(ctx.db, store.SCAN, record, find_earlier=False)
        except aggregates.DuplicateCreation:  # another process recorded this nonce meanwhile
            found = await store.scan(ctx.db, data.nonce)
            assert found is not None
            return found, False
    metrics.scan(outcome.value)
    return record, True


async def _check_in(ctx: ServiceContext, ticket: Document, event_id: str, data: ScanCreate,
                    server_time: datetime) -> ScanOutcome:
    if ticket["event_id"] != event_id:
        return scan_outcome(known=True, event_matches=False, state=None, checked_in=False)
    registration_id = ticket["registration_id"]
    async with aggregates.change(ctx.db, store.REGISTRATION, registration_id) as unit:
        doc = unit.document
        if doc is None:
            return ScanOutcome.UNKNOWN
        checked = doc.get("checked_in")
        if checked is not None and checked.get("nonce") == data.nonce:
            return ScanOutcome.OK  # this very scan checked it in before its answer or record was lost
        own = doc.get("state")
        state = own
        if not settled(own):  # waitlisted, or its copy not written yet: the event's entry says
            entry = await store.entry(ctx.db, event_id, registration_id)
            state = state_of(own, entry["state"] if entry else None)
            if state is None:
                return ScanOutcome.UNKNOWN  # registered, but the event never admitted it (a crash between)
        outcome = scan_outcome(known=True, event_matches=True, state=state, checked_in=checked is not None)
        if outcome is ScanOutcome.OK:
            _time_to_write()
            await unit.write({"$set": {"state": state, "checked_in": {
                "at": server_time, "client_time": data.scanned_at, "device_id": data.device_id, "gate": data.gate,
                "nonce": data.nonce, "offline": data.offline}}})
    return outcome


async def reconciliation(ctx: ServiceContext, event_id: str, caller: Principal) -> dict[str, Any]:
    await for_organiser(ctx.db, event_id, caller)
    scans = await store.scans_of(ctx.db, event_id)
    by_outcome = Counter(s["outcome"] for s in scans)
    devices: dict[str, set[str]] = defaultdict(set)
    counted: Counter[str] = Counter()
    for s in scans:
        if s.get("registration_id") and s["outcome"] in (ScanOutcome.OK, ScanOutcome.ALREADY_CHECKED_IN):
            devices[s["registration_id"]].add(s["device_id"])
            counted[s["registration_id"]] += 1
    duplicates = [{"registration_id": rid, "devices": sorted(devs), "scans": counted[rid]}
                  for rid, devs in sorted(devices.items()) if len(devs) > 1]
    return {"event_id": event_id, "scans": len(scans), "checked_in": await store.checked_in(ctx.db, event_id),
            "by_outcome": dict(by_outcome), "duplicates_across_devices": duplicates,
            "late_uploads": [s for s in scans if s.get("late_upload")]}
