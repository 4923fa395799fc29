"""Courses and sessions against the real stack: who may change which base's curriculum, bad input,
If-Match and Idempotency-Key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess

from tests.stack.training.support import (
    bearer,
    coordinator_of,
    create_course,
    create_session,
    new_base,
    officer,
    training,
)

pytestmark = pytest.mark.stack


def test_a_coordinator_changes_only_its_own_base(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    base_a, base_b = new_base(), new_base()
    url = training(test_profile)
    course = create_course(test_profile, base_a)
    assert course["training_base_id"] == base_a
    assert course["credit_hours"] == "16.5"
    assert [m["hours"] for m in course["modules"]] == ["8", "8.5"]

    # The curriculum is public.
    public = httpx.get(f"{url}/v1/courses/{course['id']}")
    assert public.status_code == 200
    assert public.headers["ETag"] == '"1"'

    # Another base's coordinator sees it but may not change it, nor add sessions to it.
    other = coordinator_of(test_profile, base_b)
    refused = httpx.patch(f"{url}/v1/courses/{course['id']}", json={"title": "Hijacked"},
                          headers={**other, "If-Match": '"1"'})
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    starts = datetime.now(UTC) + timedelta(days=2)
    session_body = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=4)).isoformat(),
                    "venue": "Somewhere else", "capacity": 5}
    assert httpx.post(f"{url}/v1/courses/{course['id']}/sessions", json=session_body,
                      headers=other).status_code == 403
    # A coordinator cannot create a course for another base, nor without a base in the token.
    body = {"title": "Theirs", "audience": "students", "credit_hours": "2", "training_base_id": base_a}
    assert httpx.post(f"{url}/v1/courses", json=body, headers=other).status_code == 403
    no_base = bearer(test_profile, "coordinator-without-base", "coordinator")
    assert httpx.post(f"{url}/v1/courses", json={**body, "training_base_id": None},
                      headers=no_base).status_code == 403
    participant = bearer(test_profile, "someone", "participant")
    assert httpx.post(f"{url}/v1/courses", json=body, headers=participant).status_code == 403
    assert httpx.post(f"{url}/v1/courses", json=body).status_code == 401

    # Its own coordinator changes it, with If-Match.
    own = coordinator_of(test_profile, base_a)
    assert httpx.patch(f"{url}/v1/courses/{course['id']}", json={"title": "Renamed"}, headers=own).status_code == 428
    assert httpx.patch(f"{url}/v1/courses/{course['id']}", json={"title": "Renamed"},
                       headers={**own, "If-Match": '"9"'}).status_code == 412
    renamed = httpx.patch(f"{url}/v1/courses/{course['id']}", json={"title": "Patent analysis II"},
                          headers={**own, "If-Match": '"1"'})
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["ETag"] == '"2"'
    assert httpx.get(f"{url}/v1/courses/{course['id']}").json()["title"] == "Patent analysis II"

    # Officers act for every base; sessions of A's course by an officer belong to A.
    by_officer = httpx.post(f"{url}/v1/courses/{course['id']}/sessions", json=session_body,
                            headers=officer(test_profile))
    assert by_officer.status_code == 201, by_officer.text
    session = by_officer.json()
    assert session["training_base_id"] == base_a
    assert session["seats_free"] == 5
    assert httpx.patch(f"{url}/v1/sessions/{session['id']}", json={"capacity": 9},
                       headers={**other, "If-Match": '"1"'}).status_code == 403
    moved = httpx.patch(f"{url}/v1/sessions/{session['id']}", json={"venue": "Dalian, Room 302", "capacity": 9},
                        headers={**own, "If-Match": '"1"'})
    assert moved.status_code == 200, moved.text
    assert moved.json()["capacity"] == 9
    assert moved.headers["ETag"] == '"2"'

    listed = httpx.get(f"{url}/v1/courses", params={"training_base_id": base_a}).json()
    assert [c["id"] for c in listed["items"]] == [course["id"]]
    sessions = httpx.get(f"{url}/v1/sessions", params={"course_id": course["id"]}).json()
    assert [s["id"] for s in sessions["items"]] == [session["id"]]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def test_bad_curriculum_input_says_what_and_where(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    base = new_base()
    url = training(test_profile)
    own = coordinator_of(test_profile, base)
    good = {"title": "Enforcement basics", "audience": "government_cadres", "credit_hours": "4"}
    for bad, pointer in [({**good, "credit_hours": 1.25}, "#/credit_hours"),
                         ({**good, "credit_hours": "-1"}, "#/credit_hours"),
                         ({**good, "audience": "everyone"}, "#/audience"),
                         ({**good, "categories": ["astrology"]}, "#/categories/0"),
                         # A wrong check character (not "X" when "X" happens to be the right one).
                         ({**good, "training_base_id": base[:-1] + ("Y" if base.endswith("X") else "X")},
                          "#/training_base_id"),
                         ({**good, "colour": "red"}, "#/colour")]:
        body = problem(httpx.post(f"{url}/v1/courses", json=bad, headers=own), 422)
        assert pointer in [e.get("pointer") for e in body["errors"]], (bad, body)
    body = problem(httpx.post(f"{url}/v1/courses", json={**good, "prerequisites": ["no-such-course"]}, headers=own),
                   422)
    assert "no-such-course" in body["detail"]

    first = create_course(test_profile, base, title="Step one")
    second = create_course(test_profile, base, title="Step two", prerequisites=[first["id"]])
    # Making step one require step two would be a cycle.
    cycle = problem(httpx.patch(f"{url}/v1/courses/{first['id']}", json={"prerequisites": [second["id"]]},
                                headers={**own, "If-Match": '"1"'}), 422)
    assert "cycle" in cycle["detail"]
    assert httpx.get(f"{url}/v1/courses/{first['id']}").json()["prerequisites"] == []

    starts = datetime.now(UTC) + timedelta(days=1)
    backwards = {"starts_at": starts.isoformat(), "ends_at": (starts - timedelta(hours=1)).isoformat(),
                 "venue": "Hall A", "capacity": 3}
    problem(httpx.post(f"{url}/v1/courses/{first['id']}/sessions", json=backwards, headers=own), 422)
    naive = {**backwards, "starts_at": "2030-01-01T09:00:00", "ends_at": "2030-01-01T12:00:00"}
    problem(httpx.post(f"{url}/v1/courses/{first['id']}/sessions", json=naive, headers=own), 422)
    problem(httpx.post(f"{url}/v1/courses/{first['id']}/sessions", json={**backwards, "capacity": 0,
                                                                        "ends_at": "2031-01-01T00:00:00Z"},
                       headers=own), 422)
    problem(httpx.post(f"{url}/v1/courses/nope/sessions", json={**backwards, "ends_at": "2031-01-01T00:00:00Z"},
                       headers=own), 404)
    assert httpx.get(f"{url}/v1/sessions", params={"course_id": first["id"]}).json()["items"] == []


def test_idempotency_key_creates_one_course_and_one_session(services: dict[str, ManagedProcess],
                                                            test_profile: Profile) -> None:
    base = new_base()
    url = training(test_profile)
    headers = {**coordinator_of(test_profile, base), "Idempotency-Key": f"course-{base}"}
    body = {"title": "Licensing practice", "audience": "enterprise_managers", "credit_hours": "6"}
    first = httpx.post(f"{url}/v1/courses", json=body, headers=headers)
    again = httpx.post(f"{url}/v1/courses", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert httpx.post(f"{url}/v1/courses", json={**body, "title": "Other"}, headers=headers).status_code == 422
    assert len(httpx.get(f"{url}/v1/courses", params={"training_base_id": base}).json()["items"]) == 1

    course_id = first.json()["id"]
    session = create_session(test_profile, base, course_id)
    starts = datetime.now(UTC) + timedelta(days=5)
    s_body = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(),
              "venue": "Shenyang, Hall B", "capacity": 4}
    s_headers = {**coordinator_of(test_profile, base), "Idempotency-Key": f"session-{base}"}
    one = httpx.post(f"{url}/v1/courses/{course_id}/sessions", json=s_body, headers=s_headers)
    two = httpx.post(f"{url}/v1/courses/{course_id}/sessions", json=s_body, headers=s_headers)
    assert (one.status_code, two.status_code) == (201, 200)
    assert one.json()["id"] == two.json()["id"] != session["id"]
    listed = httpx.get(f"{url}/v1/sessions", params={"course_id": course_id}).json()["items"]
    assert len(listed) == 2
