"""Every enrolment state transition through the real API, who may make it, and the completion: a
certificate number that the public check verifies and enrolment.completed on training.events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
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
    officer,
    ok,
    training,
)
from tests.support.kafka import wait_for_events

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]


def test_the_whole_path_to_completion(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    base, other_base = new_base(), new_base()
    [talent] = active_talents(test_profile, 1)
    course = create_course(test_profile, base, pass_mark=70)
    session = create_session(test_profile, base, course["id"], capacity=2)
    own, other = coordinator_of(test_profile, base), coordinator_of(test_profile, other_base)
    me = as_talent(test_profile, talent)
    url = training(test_profile)

    # A talent enrols itself, and only itself.
    stranger = as_talent(test_profile, "tal-somebody-else")
    assert httpx.post(f"{url}/v1/sessions/{session['id']}/enrolments", json={"talent_id": talent},
                      headers=stranger).status_code == 403
    created = httpx.post(f"{url}/v1/sessions/{session['id']}/enrolments", json={"talent_id": talent},
                         headers={**me, "Idempotency-Key": f"enrol-{talent}"})
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["state"] == "requested"
    assert first["talent_status"] == "active"
    assert created.headers["Location"] == f"/v1/enrolments/{first['id']}"
    replay = httpx.post(f"{url}/v1/sessions/{session['id']}/enrolments", json={"talent_id": talent},
                        headers={**me, "Idempotency-Key": f"enrol-{talent}"})
    assert replay.status_code == 200 and replay.json()["id"] == first["id"]
    again = httpx.post(f"{url}/v1/sessions/{session['id']}/enrolments", json={"talent_id": talent}, headers=me)
    assert again.status_code == 409 and again.json()["type"].endswith("/already-enrolled")
    eid = first["id"]

    # Private: the talent, its base and officers see it; another base and other talents get 404.
    assert enrolment(test_profile, eid, me)["id"] == eid
    assert enrolment(test_profile, eid, officer(test_profile))["id"] == eid
    assert httpx.get(f"{url}/v1/enrolments/{eid}", headers=other).status_code == 404
    assert httpx.get(f"{url}/v1/enrolments/{eid}", headers=stranger).status_code == 404
    assert httpx.get(f"{url}/v1/enrolments/{eid}").status_code == 401

    # Approval is the base's decision: 403 to the talent (it sees the enrolment), 404 to another base.
    assert command(test_profile, eid, "approve", me).status_code == 403
    assert command(test_profile, eid, "approve", other).status_code == 404
    # Out-of-order commands are refused by the state machine and change nothing.
    refused = command(test_profile, eid, "attendance", own)
    assert refused.status_code == 409 and "requested" in refused.json()["detail"]
    assert command(test_profile, eid, "approve", {**own, "If-Match": '"5"'}).status_code == 412
    ok(command(test_profile, eid, "approve", {**own, "If-Match": '"1"'}), "approved")
    booked = ok(command(test_profile, eid, "book", me), "booked")
    assert httpx.get(f"{url}/v1/sessions/{session['id']}").json()["seats_free"] == 1
    ok(command(test_profile, eid, "attendance", own), "attended")

    # Below the pass mark: recorded, still attended, may be re-assessed.
    failed = ok(command(test_profile, eid, "assessment", own, {"score": 65}), "attended")
    assert (failed["score"], failed["passed"], failed["certificate_number"]) == (65, False, None)
    assert command(test_profile, eid, "assessment", own, {"score": 101}).status_code == 422
    done = ok(command(test_profile, eid, "assessment", own, {"score": 88}), "completed")
    assert done["passed"] is True and done["score"] == 88
    number = done["certificate_number"]
    assert number.startswith("LNTC-") and len(number) == len("LNTC-2026-000001")
    assert [h["state"] for h in done["history"]] == ["requested", "approved", "booked", "attended", "attended",
                                                      "completed"]
    assert done["version"] > booked["version"]
    assert command(test_profile, eid, "cancel", own, {"reason": "too late"}).status_code == 409

    # The public check vouches for the number without a token.
    public = httpx.get(f"{url}/v1/certificates/{number}")
    assert public.status_code == 200, public.text
    assert public.json()["talent_id"] == talent
    assert Decimal(public.json()["credit_hours"]) == Decimal("16.5")
    assert httpx.get(f"{url}/v1/certificates/LNTC-1999-000001").status_code == 404

    # enrolment.completed reached Kafka, keyed by the enrolment id, exactly as the contract says.
    def completed(events: list[Any]) -> list[Any]:
        return [e for e in events if e.type == "cn.ipo.ln.training.enrolment.completed.v1" and e.subject == eid]

    found = wait_for_events(test_profile, "training.events", completed, what=f"{eid}'s completion on training.events")
    assert len(found) == 1, "published once"
    data = found[0].data
    assert data == {"enrolment_id": eid, "talent_id": talent, "course_id": course["id"],
                    "course_title": course["title"], "session_id": session["id"], "credit_hours": "16.5",
                    "categories": ["enterprise_ip_management", "information_retrieval_analysis"],
                    "certificate_number": number, "score": 88, "completed_at": data["completed_at"]}
    assert found[0].source == "/ipo/training"

    # The talent's own list, and the session's list for its base (not for another base).
    mine = httpx.get(f"{url}/v1/talents/{talent}/enrolments", headers=me).json()["items"]
    assert [e["id"] for e in mine] == [eid]
    assert httpx.get(f"{url}/v1/talents/{talent}/enrolments", headers=other).json()["items"] == []
    assert httpx.get(f"{url}/v1/talents/{talent}/enrolments", headers=stranger).status_code == 404
    listed = httpx.get(f"{url}/v1/sessions/{session['id']}/enrolments", params={"state": "completed"}, headers=own)
    assert [e["id"] for e in listed.json()["items"]] == [eid]
    assert httpx.get(f"{url}/v1/sessions/{session['id']}/enrolments", headers=other).status_code == 403


def test_cancellation_no_show_and_waitlist_states(services: dict[str, ManagedProcess],
                                                        test_profile: Profile) -> None:
    base = new_base()
    a, b, c, d, e = active_talents(test_profile, 5)
    course = create_course(test_profile, base)
    session = create_session(test_profile, base, course["id"], capacity=1)
    own = coordinator_of(test_profile, base)

    # requested -> cancelled (refused by the base, with its reason)
    refused = enrol(test_profile, session["id"], a)
    cancelled = ok(command(test_profile, refused["id"], "cancel", own, {"reason": "not an engineer"}), "cancelled")
    assert cancelled["cancel_reason"] == "not an engineer"
    assert command(test_profile, refused["id"], "cancel", own, {"reason": "x"}).status_code == 422  # reason too short
    # approved -> cancelled (withdrawn by the talent)
    withdrawn = enrol(test_profile, session["id"], b)
    ok(command(test_profile, withdrawn["id"], "approve", own), "approved")
    ok(command(test_profile, withdrawn["id"], "cancel", as_talent(test_profile, b), {"reason": "changed my plans"}),
       "cancelled")

    # booked (the one seat), then two waitlisted in order
    seated = enrol(test_profile, session["id"], c)
    ok(command(test_profile, seated["id"], "approve", own), "approved")
    ok(command(test_profile, seated["id"], "book", own), "booked")
    waiting = []
    for talent in (d, e):
        entry = enrol(test_profile, session["id"], talent)
        ok(command(test_profile, entry["id"], "approve", own), "approved")
        waiting.append(ok(command(test_profile, entry["id"], "book", as_talent(test_profile, talent)), "waitlisted"))
    assert waiting[0]["queue_position"] < waiting[1]["queue_position"]
    assert httpx.get(f"{training(test_profile)}/v1/sessions/{session['id']}").json()["waitlisted"] == 2

    # waitlisted -> cancelled
    ok(command(test_profile, waiting[1]["id"], "cancel", own, {"reason": "no longer needed"}), "cancelled")
    # booked -> cancelled frees the seat: waitlisted -> booked, automatically
    ok(command(test_profile, seated["id"], "cancel", as_talent(test_profile, c), {"reason": "ill"}), "cancelled")
    promoted = enrolment(test_profile, waiting[0]["id"], own)
    assert promoted["state"] == "booked"
    assert promoted["history"][-1]["by"] == "system"
    assert promoted["queue_position"] is None
    # booked -> no_show, final
    ok(command(test_profile, waiting[0]["id"], "no-show", own), "no_show")
    assert command(test_profile, waiting[0]["id"], "attendance", own).status_code == 409
    # A no-show still holds its seat: nobody is promoted and the session shows it.
    shown = httpx.get(f"{training(test_profile)}/v1/sessions/{session['id']}").json()
    assert (shown["seats_free"], shown["waitlisted"]) == (0, 0)


def test_a_certificate_number_reserved_by_a_crashed_completion_vouches_for_nothing(
        services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo) -> None:
    """The certificate document is written before the completion (so numbers are unique); if the API dies
    in between, the number is a gap in the sequence and the public check must not vouch for it."""
    base = new_base()
    [talent] = active_talents(test_profile, 1)
    session = create_session(test_profile, base, create_course(test_profile, base)["id"])
    own = coordinator_of(test_profile, base)
    entry = enrol(test_profile, session["id"], talent)
    ok(command(test_profile, entry["id"], "approve", own), "approved")
    ok(command(test_profile, entry["id"], "book", own), "booked")
    ok(command(test_profile, entry["id"], "attendance", own), "attended")
    # What a crash right after reserving the number leaves behind: the certificate, not the completion.
    orphan = "LNTC-2099-000001"
    mongo[f"training_{test_profile.name}"]["certificates"].insert_one({
        "_id": orphan, "enrolment_id": entry["id"], "session_id": session["id"], "talent_id": talent,
        "talent_name": None, "course_id": session["course_id"], "course_title": "x", "credit_hours": "16.5",
        "training_base_id": base, "score": 90, "completed_at": datetime.now(UTC)})
    assert httpx.get(f"{training(test_profile)}/v1/certificates/{orphan}").status_code == 404
    # Completing for real issues another number, which the check does vouch for.
    done = ok(command(test_profile, entry["id"], "assessment", own, {"score": 90}), "completed")
    assert done["certificate_number"] != orphan
    assert httpx.get(f"{training(test_profile)}/v1/certificates/{done['certificate_number']}").status_code == 200
    assert httpx.get(f"{training(test_profile)}/v1/certificates/{orphan}").status_code == 404
