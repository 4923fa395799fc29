"""A training API killed (SIGKILL) after storing a completion but before publishing it loses nothing:
the restarted API's outbox sweep publishes enrolment.completed, once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient

from tests.stack.training.support import bearer
from tests.support.kafka import events_on
from tests.support.outbox import all_sent
from tests.support.stack import eventually, new_credit_code, start_service

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]


def _training_api(profile: Profile, port: int, db: str, **overrides: str) -> ManagedProcess:
    return start_service(profile, "training", "api", name=f"training-api-{port}", http_port=str(port), mongo_db=db,
                         **overrides)


def test_completion_accepted_then_killed_before_publishing_is_published_once_after_restart(
        services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo) -> None:
    port = test_profile.ports.api("training") + 50
    # Its own database, so the session's training API does not sweep these events up; its talent
    # projection is seeded directly, since this test is about the API, not the worker.
    db = f"training_crash_{uuid.uuid4().hex[:8]}"
    talent = f"tal-{uuid.uuid4().hex[:12]}"
    mongo[db]["talents"].insert_one({
        "_id": talent, "registration_number": talent, "name": "Crash Test", "employer_organisation_id": "x",
        "region_code": "210200", "categories": [], "level": None, "status": "active", "version": 1,
        "applied_events": []})
    base = new_credit_code()
    own = bearer(test_profile, "coordinator-crash", "coordinator", org=base)
    url = f"http://127.0.0.1:{port}"
    # Relay woken by nothing and sweeping hourly: accepted events stay in the outbox.
    slow = _training_api(test_profile, port, db, outbox_relay_notify="false", outbox_sweep_seconds="3600")
    try:
        course = httpx.post(f"{url}/v1/courses", json={"title": "Crash course", "audience": "students",
                                                       "credit_hours": "2"}, headers=own).json()
        starts = datetime.now(UTC) + timedelta(days=1)
        session = httpx.post(f"{url}/v1/courses/{course['id']}/sessions", headers=own, json={
            "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "venue": "Lab", "capacity": 2}).json()
        eid = httpx.post(f"{url}/v1/sessions/{session['id']}/enrolments", json={"talent_id": talent},
                         headers=own).json()["id"]
        for action, body in (("approve", None), ("book", None), ("attendance", None), ("assessment", {"score": 70})):
            response = httpx.post(f"{url}/v1/enrolments/{eid}/{action}", json=body, headers=own)
            assert response.status_code == 200, response.text
        assert response.json()["state"] == "completed"
        stored = mongo[db]["sessions"].find_one({"_id": session["id"]}, {"outbox": 1})
        # The completion (and the session's own session.scheduled) written, not yet published.
        assert stored is not None
        assert [e["event"]["type"] for e in stored["outbox"].values()].count(
            "cn.ipo.ln.training.enrolment.completed.v1") == 1, "written, not yet published"
    finally:
        slow.kill()

    def ours(events: list[Any]) -> list[Any]:
        return [e for e in events if e.subject == eid]

    # The topic read up to its end as of now (the killed API can publish nothing more) holds none of it.
    assert ours(events_on(test_profile, "training.events")) == [], "nothing published yet"

    restarted = _training_api(test_profile, port, db)
    try:
        # The start-up sweep publishes it, then drops the session's pending marker.
        eventually(lambda: all_sent(mongo[db], "sessions", session["id"]), what="the events all sent")
        # Read the whole topic once all is sent: exactly one.
        published = ours(events_on(test_profile, "training.events"))
        assert len(published) == 1
        assert published[0].type == "cn.ipo.ln.training.enrolment.completed.v1"
        assert published[0].data["talent_id"] == talent and published[0].data["credit_hours"] == "2"
    finally:
        restarted.stop()
        mongo.drop_database(db)
