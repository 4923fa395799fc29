"""Training follows the registry's talent events: only active talents enrol; suspension blocks attendance
but keeps bookings; removal cancels open enrolments and gives the seat to the waitlist; redelivered
or late events change nothing. Also prerequisites (training's own records) and operator metrics."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient

from tests.stack.training.support import (
    active_talents,
    as_talent,
    command,
    coordinator_of,
    create_course,
    create_session,
    enrol,
    enrolment,
    new_base,
    ok,
    projected_status,
    send,
    talent_event,
    training,
)
from tests.support.stack import eventually

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]


def booked_in(profile: Profile, session_id: str, talent: str, own: dict[str, str]) -> dict[str, Any]:
    entry = enrol(profile, session_id, talent)
    ok(command(profile, entry["id"], "approve", own), "approved")
    return ok(command(profile, entry["id"], "book", own), "booked")


def worker_counter(profile: Profile, series: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{profile.ports.worker('training')}/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series))


def test_suspension_blocks_new_enrolments_and_attendance_until_reinstated(
        services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo) -> None:
    base = new_base()
    [talent] = active_talents(test_profile, 1)
    course = create_course(test_profile, base)
    first = create_session(test_profile, base, course["id"], capacity=3)
    second = create_session(test_profile, base, course["id"], capacity=3)
    own = coordinator_of(test_profile, base)
    booking = booked_in(test_profile, first["id"], talent, own)

    suspended = talent_event(talent, "suspended", 2, "status_changed", reason="complaint under investigation")
    send(test_profile, suspended, suspended)  # delivered twice: applied once
    projected = projected_status(test_profile, talent, "suspended", 2)
    assert projected["status_reason"] == "complaint under investigation"
    assert projected["may_enrol"] is False
    doc = mongo[f"training_{test_profile.name}"]["talents"].find_one({"_id": talent})
    assert doc is not None and doc["applied_events"].count(suspended.id) == 1

    # No new enrolment...
    refused = httpx.post(f"{training(test_profile)}/v1/sessions/{second['id']}/enrolments",
                         json={"talent_id": talent}, headers=as_talent(test_profile, talent))
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/talent-not-active")
    # ...the existing booking is kept, flagged, and attendance is refused.
    kept = enrolment(test_profile, booking["id"], own)
    assert (kept["state"], kept["talent_status"]) == ("booked", "suspended")
    blocked = command(test_profile, booking["id"], "attendance", own)
    assert blocked.status_code == 409 and blocked.json()["talent_status"] == "suspended"
    assert enrolment(test_profile, booking["id"], own)["state"] == "booked"

    # A late, older snapshot (version 1, active) does not undo the suspension: the worker counts it as a
    # duplicate and the projection keeps version 2.
    ignored = 'training_events_consumed_total{outcome="duplicate",type="cn.ipo.ln.registry.talent.updated.v1"}'
    before = worker_counter(test_profile, ignored)
    send(test_profile, talent_event(talent, "active", 1, "updated"))
    eventually(lambda: worker_counter(test_profile, ignored) > before, what="the late snapshot handled")
    assert projected_status(test_profile, talent, "suspended", 2)["may_enrol"] is False

    # Reinstated: attendance works again, and so do new enrolments.
    send(test_profile, talent_event(talent, "active", 3, "status_changed", reason="investigation closed"))
    projected_status(test_profile, talent, "active", 3)
    ok(command(test_profile, booking["id"], "attendance", own), "attended")
    assert enrol(test_profile, second["id"], talent)["state"] == "requested"


def test_removal_cancels_open_enrolments_and_the_seat_goes_to_the_waitlist(
        services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo) -> None:
    base = new_base()
    removed, waiting, other = active_talents(test_profile, 3)
    course = create_course(test_profile, base)
    session = create_session(test_profile, base, course["id"], capacity=1)
    later = create_session(test_profile, base, course["id"], capacity=5)
    own = coordinator_of(test_profile, base)
    seat = booked_in(test_profile, session["id"], removed, own)
    queued = enrol(test_profile, session["id"], waiting)
    ok(command(test_profile, queued["id"], "approve", own), "approved")
    ok(command(test_profile, queued["id"], "book", own), "waitlisted")
    pending = enrol(test_profile, later["id"], removed)  # a request in another session
    untouched = booked_in(test_profile, later["id"], other, own)

    removal = talent_event(removed, "removed", 2, "status_changed", reason="licence revoked")
    send(test_profile, removal, removal)
    projected_status(test_profile, removed, "removed", 2)

    def cancelled(eid: str) -> dict[str, Any] | None:
        body = enrolment(test_profile, eid, own)
        return body if body["state"] == "cancelled" else None

    gone = eventually(lambda: cancelled(seat["id"]), what="the removed talent's booking cancelled")
    assert "licence revoked" in gone["cancel_reason"]
    assert gone["history"][-1]["by"] == "system"
    eventually(lambda: cancelled(pending["id"]), what="the removed talent's request cancelled")
    promoted = enrolment(test_profile, queued["id"], own)
    assert promoted["state"] == "booked", promoted
    assert enrolment(test_profile, untouched["id"], own)["state"] == "booked"
    # Nothing left to do, and nothing done twice.
    db = mongo[f"training_{test_profile.name}"]
    eventually(lambda: db["talent_follow_ups"].count_documents({"talent_id": removed}) == 0,
               what="the follow-up cleared")
    history = enrolment(test_profile, seat["id"], own)["history"]
    assert [h["state"] for h in history].count("cancelled") == 1

    refused = httpx.post(f"{training(test_profile)}/v1/sessions/{later['id']}/enrolments",
                         json={"talent_id": removed}, headers=own)
    assert refused.status_code == 409
    unknown = httpx.post(f"{training(test_profile)}/v1/sessions/{later['id']}/enrolments",
                         json={"talent_id": "tal-never-registered"}, headers=own)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "#/talent_id"


def complete(profile: Profile, session_id: str, talent: str, own: dict[str, str]) -> dict[str, Any]:
    seat = booked_in(profile, session_id, talent, own)
    ok(command(profile, seat["id"], "attendance", own), "attended")
    return ok(command(profile, seat["id"], "assessment", own, {"score": 75}), "completed")


def test_prerequisites_come_from_training_records(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    base = new_base()
    talent, = active_talents(test_profile, 1)
    own = coordinator_of(test_profile, base)
    basics = create_course(test_profile, base, title="Patent basics")
    advanced = create_course(test_profile, base, title="Patent strategy", prerequisites=[basics["id"]])
    advanced_session = create_session(test_profile, base, advanced["id"])

    refused = httpx.post(f"{training(test_profile)}/v1/sessions/{advanced_session['id']}/enrolments",
                         json={"talent_id": talent}, headers=as_talent(test_profile, talent))
    assert refused.status_code == 409, refused.text
    assert refused.json()["missing_courses"] == [basics["id"]]

    # Attending without passing is not completing.
    basics_session = create_session(test_profile, base, basics["id"])
    seat = booked_in(test_profile, basics_session["id"], talent, own)
    ok(command(test_profile, seat["id"], "attendance", own), "attended")
    ok(command(test_profile, seat["id"], "assessment", own, {"score": 30}), "attended")
    assert httpx.post(f"{training(test_profile)}/v1/sessions/{advanced_session['id']}/enrolments",
                      json={"talent_id": talent}, headers=as_talent(test_profile, talent)).status_code == 409
    ok(command(test_profile, seat["id"], "assessment", own, {"score": 60}), "completed")
    assert enrol(test_profile, advanced_session["id"], talent)["state"] == "requested"


def test_operator_metrics(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    base = new_base()
    talent, = active_talents(test_profile, 1)
    session = create_session(test_profile, base, create_course(test_profile, base)["id"], capacity=4)
    booked_in(test_profile, session["id"], talent, coordinator_of(test_profile, base))
    url = f"{training(test_profile)}/metrics"

    def booked(text: str) -> float:
        return next((float(line.split()[-1]) for line in text.splitlines()
                     if line.startswith('training_enrolments{state="booked"}')), 0.0)

    def gauges() -> str | None:
        # The API recounts every few seconds: wait for a recount that came after the booking (the first
        # gauges seen may come from one before it, which made this test fail now and then).
        text = httpx.get(url).text
        return text if booked(text) >= 1 and "training_seats_free " in text else None

    text = eventually(gauges, what="training's domain gauges, counted after the booking")
    value = booked(text)
    assert value >= 1
    assert 'training_sessions{phase="upcoming"}' in text
    worker = httpx.get(f"http://127.0.0.1:{test_profile.ports.worker('training')}/metrics").text
    assert "training_events_consumed_total" in worker
    assert "training_seats_free" not in worker  # only the API, which refreshes it, serves it
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package, which `make test` installs"
    for name, body in (("api", text), ("worker", worker)):
        result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True,
                                timeout=30)
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"


def test_a_suspended_talent_keeps_its_waitlist_place_but_is_skipped_until_reinstated(
        services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    base = new_base()
    seated, waiting, newcomer = active_talents(test_profile, 3)
    session = create_session(test_profile, base, create_course(test_profile, base)["id"], capacity=1)
    own = coordinator_of(test_profile, base)
    seat = booked_in(test_profile, session["id"], seated, own)
    queued = enrol(test_profile, session["id"], waiting)
    ok(command(test_profile, queued["id"], "approve", own), "approved")
    ok(command(test_profile, queued["id"], "book", own), "waitlisted")

    send(test_profile, talent_event(waiting, "suspended", 2, "status_changed", reason="unpaid fees"))
    projected_status(test_profile, waiting, "suspended", 2)
    ok(command(test_profile, seat["id"], "cancel", own, {"reason": "moved away"}), "cancelled")
    # The seat is not given to someone who may not attend; the place in the queue is kept.
    skipped = enrolment(test_profile, queued["id"], own)
    assert (skipped["state"], skipped["talent_status"]) == ("waitlisted", "suspended")

    send(test_profile, talent_event(waiting, "active", 3, "status_changed", reason="fees paid"))
    projected_status(test_profile, waiting, "active", 3)
    # The next booking of the session first serves the one who waited longest.
    late = enrol(test_profile, session["id"], newcomer)
    ok(command(test_profile, late["id"], "approve", own), "approved")
    ok(command(test_profile, late["id"], "book", own), "waitlisted")
    assert enrolment(test_profile, queued["id"], own)["state"] == "booked"
