"""Training without scans on its hot paths (issue 10), against the real stack: the gauges' tallies equal a
recount from the sessions after a burst of changes, the gauges read them, and the bulk job repairs them;
a talent's sessions come from its index document by `_id`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from devstack.components import service_env
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient
from servicekit import tallies
from training.enrolments.domain import EnrolmentState
from training.sessions import store as session_store

from tests.stack.training.support import (
    active_talents,
    as_talent,
    command,
    coordinator_of,
    create_course,
    create_session,
    enrol,
    new_base,
    officer,
    ok,
    training,
)
from tests.support.stack import eventually

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]


def flat(node: Any, prefix: str = "") -> dict[str, int]:
    """A tally document as the dotted paths it was counted under, without zero amounts."""
    found: dict[str, int] = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(flat(value, f"{path}."))
        elif isinstance(value, int | float) and int(value) != 0:
            found[path] = int(value)
    return found


def database(mongo: Mongo, profile: Profile) -> Any:
    return mongo[f"training_{profile.name}"]


def tallies_and_recount(mongo: Mongo, profile: Profile) -> tuple[dict[str, dict[str, int]], tallies.Contribution]:
    """Every tally document as stored (empty ones left out), and what the sessions add up to."""
    db = database(mongo, profile)
    stored = {str(doc["_id"]): flat({k: v for k, v in doc.items() if k != "_id"})
              for doc in db[tallies.TALLIES].find({})}
    recount = tallies.contributions(db[session_store.COLLECTION].find({}), session_store.AGGREGATE)
    return {k: v for k, v in stored.items() if v}, recount


def expected_gauges(mongo: Mongo, profile: Profile) -> dict[str, float]:
    """The gauges as the API computed them before the tallies: from every session."""
    now = datetime.now(UTC)
    found: dict[str, float] = {f'training_enrolments{{state="{s.value}"}}': 0.0 for s in EnrolmentState}
    found.update({f'training_sessions{{phase="{p}"}}': 0.0 for p in ("upcoming", "running", "ended")})
    found["training_seats_free"] = 0.0
    for session in database(mongo, profile)[session_store.COLLECTION].find({}):
        for entry in (session.get("enrolments") or {}).values():
            found[f'training_enrolments{{state="{entry["state"]}"}}'] += 1
        if session["ends_at"] <= now:
            found['training_sessions{phase="ended"}'] += 1
            continue
        found['training_sessions{phase="upcoming"}' if session["starts_at"] > now
              else 'training_sessions{phase="running"}'] += 1
        found["training_seats_free"] += max(session["capacity"] - session.get("seats_taken", 0), 0)
    return found


def served_gauges(profile: Profile, names: list[str]) -> dict[str, float]:
    text = httpx.get(f"{training(profile)}/metrics").text
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line and not line.startswith("#")}
    return {name: values.get(name, -1.0) for name in names}


def run_job(profile: Profile, job: str = "recount-tallies") -> str:
    """One of the service's bulk jobs (`python -m <service> <job>`), as an operator runs it."""
    env = {**os.environ, **service_env(profile, "training")}
    done = subprocess.run([sys.executable, "-m", "training", job], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_gauge_tallies_equal_a_recount_after_a_burst_and_the_bulk_job_repairs_them(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    base = new_base()
    own = coordinator_of(test_profile, base)
    course = create_course(test_profile, base)
    sessions = [
        create_session(test_profile, base, course["id"], capacity=2),
        create_session(test_profile, base, course["id"], capacity=3, starts_in=timedelta(hours=-1)),  # running
        create_session(test_profile, base, course["id"], capacity=4, starts_in=timedelta(days=-3)),  # ended
        create_session(test_profile, base, course["id"], capacity=2, starts_in=timedelta(days=70)),  # months on
    ]
    talents = active_talents(test_profile, 5)
    open_sessions = [sessions[0], sessions[1], sessions[3]]

    def enrol_and_book(talent: str) -> list[dict[str, Any]]:
        entries = [enrol(test_profile, s["id"], talent) for s in open_sessions]
        for entry in entries[:2]:
            ok(command(test_profile, entry["id"], "approval", own), "approved")
            booked = command(test_profile, entry["id"], "booking", own)
            assert booked.status_code == 200, booked.text
        return entries

    with ThreadPoolExecutor(max_workers=5) as pool:  # a burst: five talents enrol and book at once
        entries = list(pool.map(enrol_and_book, talents))
    # ...then changes that move counts: a cancellation frees a seat, the capacity grows, the dates move.
    ok(command(test_profile, entries[0][0]["id"], "cancellation", own, {"reason": "cannot come"}), "cancelled")
    for session, change in ((sessions[1], {"capacity": 6}),
                            (sessions[3], {"starts_at": (datetime.now(UTC) + timedelta(days=40)).isoformat(),
                                           "ends_at": (datetime.now(UTC) + timedelta(days=41)).isoformat()})):
        moved = httpx.patch(f"{training(test_profile)}/v1/sessions/{session['id']}", json=change,
                            headers={**own, "If-Match": f'"{session["version"]}"'})
        assert moved.status_code == 200, moved.text

    stored, recount = tallies_and_recount(mongo, test_profile)
    assert stored == recount
    # Each session's own summary of its enrolments is current too (FerretDB once kept a stale one).
    ours = {"_id": {"$in": [s["id"] for s in sessions]}}
    for doc in database(mongo, test_profile)[session_store.COLLECTION].find(ours):
        states = Counter(e["state"] for e in doc["enrolments"].values())
        assert {k: v for k, v in doc["counts"].items() if v} == dict(states)
    # The gauges read those tallies: the same figures as counting every session.
    expected = expected_gauges(mongo, test_profile)
    eventually(lambda: served_gauges(test_profile, list(expected)) == expected_gauges(mongo, test_profile),
               what="training's gauges equal to a count over every session")

    # A crash between a change and its count leaves a tally off; the bulk job recomputes them.
    db = database(mongo, test_profile)
    db[tallies.TALLIES].update_one({"_id": session_store.SESSIONS_TALLY}, {"$inc": {"sessions": 3,
                                                                                   "enrolments.booked": -2}})
    db[session_store.COLLECTION].update_one({"_id": sessions[0]["id"]}, {"$unset": {tallies.TALLIED: ""}})
    skewed, _ = tallies_and_recount(mongo, test_profile)
    assert skewed != recount
    assert "sessions" in run_job(test_profile)
    stored, recount = tallies_and_recount(mongo, test_profile)
    assert stored == recount
    # ...and changes after the repair keep them exact.
    ok(command(test_profile, entries[1][0]["id"], "cancellation", own, {"reason": "cannot come"}), "cancelled")
    stored, recount = tallies_and_recount(mongo, test_profile)
    assert stored == recount


def test_a_talents_enrolments_come_from_its_index_of_sessions(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    base = new_base()
    course = create_course(test_profile, base)
    first, second, elsewhere = (create_session(test_profile, base, course["id"]) for _ in range(3))
    talent, other = active_talents(test_profile, 2)
    mine = [enrol(test_profile, first["id"], talent), enrol(test_profile, second["id"], talent)]
    enrol(test_profile, elsewhere["id"], other)
    db = database(mongo, test_profile)
    index = db[session_store.TALENT_SESSIONS].find_one({"_id": talent})
    assert index is not None and index["session_ids"] == [first["id"], second["id"]]

    # An entry left by an enrolment whose session write did not happen (its session does not list the
    # talent) is skipped, like one naming no session at all.
    db[session_store.TALENT_SESSIONS].update_one({"_id": talent}, {"$push": {"session_ids": {
        "$each": [elsewhere["id"], "no-such-session"]}}})
    for headers in (as_talent(test_profile, talent), officer(test_profile)):
        listed = httpx.get(f"{training(test_profile)}/v1/talents/{talent}/enrolments", headers=headers)
        assert listed.status_code == 200, listed.text
        assert sorted(e["id"] for e in listed.json()["items"]) == sorted(e["id"] for e in mine)

    # Enrolments stored before the index existed get their entries from the bulk job.
    db[session_store.TALENT_SESSIONS].delete_one({"_id": talent})
    assert "entries" in run_job(test_profile, "rebuild-talent-index")
    index = db[session_store.TALENT_SESSIONS].find_one({"_id": talent})
    assert index is not None and sorted(index["session_ids"]) == sorted([first["id"], second["id"]])
