"""One talent's journey across the registry and training, through the real processes, Kafka and FerretDB.

registry: organisation and talent registered -> talent.registered -> training's projection
training: course, session, enrolment, attendance, assessment -> enrolment.completed (certificate number)
registry: credits the completion -> eligible -> evaluation reviewed and granted -> talent.certified;
          the public check verifies both certificates; the plan target moves
registry: suspension -> talent.status_changed -> training refuses new enrolments

publicity: drafts an announcement of the certification (when it runs)

Run with IPO_TEST_SERVICES=registry,training[,publicity] (their APIs and workers).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from registry.talents.identity import identity_check_character

from tests.support.stack import api_url, eventually, new_credit_code, organisation_body, token

# The journeys also check that nothing on their path scans a collection (servicekit.store_audit).
pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("store_scans_checked")]


def bearer(profile: Profile, subject: str, *roles: str, org: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(profile, subject, *roles, org=org)}"}


def identity_number() -> str:
    born = date(1975, 1, 1) + timedelta(days=random.randrange(0, 365 * 25))
    body = f"210203{born:%Y%m%d}{random.randrange(0, 1000):03d}"
    return body + identity_check_character(body)


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def succeeded(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def target(registry: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in httpx.get(f"{registry}/v1/targets").json()["targets"]
                                 if t["name"] == name)
    return found


def test_a_talent_trains_is_credited_certified_verified_and_then_suspended(
        services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    registry, training = api_url(test_profile, "registry"), api_url(test_profile, "training")
    registrar = bearer(test_profile, "coordinator-e2e", "coordinator")
    officer = bearer(test_profile, "officer-e2e", "officer")

    # 1. The registry: an enterprise, a university hosting a training base, and a talent employed by the
    #    enterprise (an enterprise IP engineer in the making).
    enterprise = new_credit_code("210200")
    created(httpx.post(f"{registry}/v1/organisations", json={**organisation_body(enterprise), "kind": "enterprise"},
                       headers=registrar))
    university = new_credit_code("210200")
    created(httpx.post(f"{registry}/v1/organisations",
                       json={**organisation_body(university, "Dalian University of Technology"),
                             "kind": "university"}, headers=registrar))
    talent = created(httpx.post(f"{registry}/v1/talents", json={
        "name": "Zhao Lei", "identity_number": identity_number(), "employer_organisation_id": enterprise,
        "region_code": "210203", "categories": ["enterprise_ip_management"],
        "contact": {"email": "zhao.lei@example.cn"}, "account_subject": "idp|zhao.lei"}, headers=registrar))
    talent_id = talent["talent_id"]
    engineers_before = target(registry, "enterprise_ip_engineers")["achieved"]

    # 2. Training learns of the talent from the registry's event (its own projection, no HTTP call).
    base = bearer(test_profile, "coordinator-dut", "coordinator", org=university)
    projected = eventually(lambda: (r := httpx.get(f"{training}/v1/talents/{talent_id}", headers=base))
                           .status_code == 200 and r.json(), timeout=40, what="the talent in training")
    assert (projected["status"], projected["may_enrol"]) == ("active", True)

    # 3. The university's coordinator runs a course worth 16 credit hours toward enterprise IP management.
    course = created(httpx.post(f"{training}/v1/courses", json={
        "title": "Enterprise IP management practice", "audience": "engineers", "credit_hours": "16",
        "modules": [{"title": "IP strategy", "hours": "8"}, {"title": "Portfolio audits", "hours": "8"}],
        "categories": ["enterprise_ip_management"]}, headers=base))
    assert course["training_base_id"] == university
    starts = datetime.now(UTC) + timedelta(days=7)
    session = created(httpx.post(f"{training}/v1/courses/{course['id']}/sessions", json={
        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(days=2)).isoformat(),
        "venue": "Dalian University of Technology, IP Academy", "capacity": 30}, headers=base))

    # 4. Enrol, approve, book, attend, pass: completion with a training certificate number.
    enrolment = created(httpx.post(f"{training}/v1/sessions/{session['id']}/enrolments",
                                   json={"talent_id": talent_id}, headers=base))
    eid = enrolment["id"]
    for action, state in (("approve", "approved"), ("book", "booked"), ("attendance", "attended")):
        assert succeeded(httpx.post(f"{training}/v1/enrolments/{eid}/{action}", headers=base))["state"] == state
    done = succeeded(httpx.post(f"{training}/v1/enrolments/{eid}/assessment", json={"score": 86}, headers=base))
    assert done["state"] == "completed"
    training_certificate = done["certificate_number"]
    assert training_certificate.startswith("LNTC-")

    # 5. The registry credits the completion (from training's event) exactly once.
    def ledger() -> dict[str, Any] | None:
        body = succeeded(httpx.get(f"{registry}/v1/talents/{talent_id}/credits", headers=officer))
        return body if body["entries"] else None

    credits = eventually(ledger, timeout=40, what="the completion credited in the registry")
    # The talent logs in with its own account (bound in the registry, carried to training by the events)
    # and sees its own record and enrolments in both services; another participant does not.
    own = bearer(test_profile, "idp|zhao.lei", "participant")
    assert succeeded(httpx.get(f"{registry}/v1/talents/me", headers=own))["talent_id"] == talent_id
    mine = succeeded(httpx.get(f"{training}/v1/talents/{talent_id}/enrolments", headers=own))
    assert eid in json.dumps(mine)
    stranger = bearer(test_profile, "idp|someone.else", "participant")
    assert httpx.get(f"{training}/v1/talents/{talent_id}/enrolments", headers=stranger).status_code == 404
    assert httpx.get(f"{training}/v1/enrolments/{eid}", headers=stranger).status_code == 404
    assert [e["enrolment_id"] for e in credits["entries"]] == [eid]
    assert Decimal(credits["total_hours"]) == Decimal(16)
    assert Decimal(credits["hours_by_category"]["enterprise_ip_management"]) == Decimal(16)
    assert credits["entries"][0]["certificate_number"] == training_certificate

    # 6. The public verifies the training certificate in the registry (and in training), without a token.
    checked = succeeded(httpx.get(f"{registry}/v1/public/certificates/{training_certificate}"))
    assert (checked["kind"], checked["valid"], checked["course_id"]) == ("training_completion", True, course["id"])
    assert checked["holder"]["registration_number"] == talent_id
    assert succeeded(httpx.get(f"{training}/v1/certificates/{training_certificate}"))["talent_id"] == talent_id

    # 7. Eligible now; an officer reviews and grants the evaluation: certified assistant.
    eligibility = succeeded(httpx.get(f"{registry}/v1/talents/{talent_id}/eligibility",
                                      params={"level": "assistant", "category": "enterprise_ip_management"},
                                      headers=officer))
    assert eligibility["eligible"] is True, eligibility
    evaluation = created(httpx.post(f"{registry}/v1/evaluations", json={
        "talent_id": talent_id, "level": "assistant", "category": "enterprise_ip_management"}, headers=registrar))
    for action in ("review", "grant"):
        evaluation = succeeded(httpx.post(f"{registry}/v1/evaluations/{evaluation['id']}/{action}",
                                          headers={**officer, "If-Match": f'"{evaluation["version"]}"'}))
    assert evaluation["status"] == "granted"
    certification = evaluation["certificate_number"]

    # 8. The certification is publicly verifiable, and the plan target moved.
    verified = succeeded(httpx.get(f"{registry}/v1/public/certificates/{certification}"))
    assert (verified["kind"], verified["valid"], verified["level"]) == ("certification", True, "assistant")
    eventually(lambda: target(registry, "enterprise_ip_engineers")["achieved"] == engineers_before + 1,
               timeout=40, what="the enterprise IP engineers target to move")
    # Training's projection follows the certification (talent.certified carries the snapshot).
    eventually(lambda: httpx.get(f"{training}/v1/talents/{talent_id}", headers=base).json()["level"] == "assistant",
               timeout=40, what="the certified level in training")

    # 8b. Publicity drafts an announcement of the certification for an officer to review (flow 1), once
    #     per certification; never published on its own. (Only when publicity runs: IPO_TEST_SERVICES.)
    if "publicity-worker" in services:
        publicity = api_url(test_profile, "publicity")
        draft_id = f"NEWS-talent-{talent_id}-assistant-enterprise_ip_management"

        def drafted() -> dict[str, Any] | None:
            found = httpx.get(f"{publicity}/v1/releases/{draft_id}", headers=officer)
            return found.json() if found.status_code == 200 else None

        news = eventually(drafted, timeout=40, what="publicity's draft announcing the certification")
        assert (news["kind"], news["state"], news["origin"]) == ("news", "draft", "milestone")
        assert talent_id in news["content"]["body"] and news["content"]["body_en"]
        assert httpx.get(f"{publicity}/v1/public/releases/{draft_id}").status_code == 404

    # 9. Suspension in the registry stops new enrolments in training.
    talent_now = succeeded(httpx.get(f"{registry}/v1/talents/{talent_id}", headers=officer))
    suspended = httpx.post(f"{registry}/v1/talents/{talent_id}/status",
                           json={"status": "suspended", "reason": "disciplinary review"},
                           headers={**officer, "If-Match": f'"{talent_now["version"]}"'})
    assert suspended.status_code == 200, suspended.text
    eventually(lambda: httpx.get(f"{training}/v1/talents/{talent_id}", headers=base).json()["status"] == "suspended",
               timeout=40, what="the suspension in training")
    next_session = created(httpx.post(f"{training}/v1/courses/{course['id']}/sessions", json={
        "starts_at": (starts + timedelta(days=30)).isoformat(), "ends_at": (starts + timedelta(days=31)).isoformat(),
        "venue": "Dalian University of Technology, IP Academy", "capacity": 30}, headers=base))
    refused = httpx.post(f"{training}/v1/sessions/{next_session['id']}/enrolments", json={"talent_id": talent_id},
                         headers=base)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/talent-not-active")
    # The certificates now check as not valid while the holder is suspended.
    assert succeeded(httpx.get(f"{registry}/v1/public/certificates/{certification}"))["valid"] is False
