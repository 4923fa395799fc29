"""Credits from training completions (exactly once), the evaluation workflow, certification with its
event, the public credential check and the plan targets, against the real stack. Training is stood
in for by publishing its contract event to training.events from the test."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient

from tests.stack.registry.helpers import (
    completion,
    coordinator,
    officer,
    publish_training,
    register_organisation,
    register_talent,
    registry,
    renamed,
    wait_for_events,
)
from tests.support.stack import auth, eventually

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]


def ledger(profile: Profile, talent_id: str) -> dict[str, Any]:
    response = httpx.get(f"{registry(profile)}/v1/talents/{talent_id}/credits", headers=coordinator(profile))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def credited(profile: Profile, talent_id: str, entries: int) -> Any:
    return eventually(lambda: (found := ledger(profile, talent_id)) and len(found["entries"]) >= entries and found,
                      timeout=40, what=f"{entries} ledger entries")


def target(profile: Profile, name: str) -> dict[str, Any]:
    targets = httpx.get(f"{registry(profile)}/v1/targets").json()["targets"]
    found: dict[str, Any] = next(t for t in targets if t["name"] == name)
    return found


def step(profile: Profile, evaluation: dict[str, Any], action: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{registry(profile)}/v1/evaluations/{evaluation['id']}/{action}", json=body or None,
                      headers={**officer(profile), "If-Match": f'"{evaluation["version"]}"'})


def test_a_completion_is_credited_once_however_often_it_arrives(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    talent = register_talent(test_profile, register_organisation(test_profile))
    tid = talent["talent_id"]
    first = completion(tid, "12.5", ["ip_services"])
    second = completion(tid, "4", ["enforcement"])
    third = completion(tid, "1", [])
    before = duplicates_seen(test_profile)
    # The same event twice, the same completion re-published under a new event id, and two others.
    publish_training(test_profile, first, first, renamed(first), second, third, third)
    eventually(lambda: duplicates_seen(test_profile) >= before + 3, timeout=40, what="three duplicates seen")
    found = credited(test_profile, tid, 3)
    assert sorted(e["enrolment_id"] for e in found["entries"]) == sorted(
        [first.subject, second.subject, third.subject])
    assert Decimal(found["total_hours"]) == Decimal("17.5")
    assert {k: Decimal(v) for k, v in found["hours_by_category"].items()} == {
        "ip_services": Decimal("12.5"), "enforcement": Decimal(4)}
    doc = mongo[f"registry_{test_profile.name}"]["credit_ledgers"].find_one({"_id": tid})
    assert doc is not None and sorted(doc["applied_events"]) == sorted(
        f"enrolment:{e}" for e in (first.subject, second.subject, third.subject))
    assert duplicates_seen(test_profile) == before + 3


def duplicates_seen(profile: Profile) -> int:
    metrics = httpx.get(f"http://127.0.0.1:{profile.ports.worker('registry')}/metrics").text
    found = re.search(r'registry_events_duplicate_total\{type="cn\.ipo\.ln\.training\.enrolment\.completed'
                      r'\.v1"\} ([0-9.]+)', metrics)
    return int(float(found.group(1))) if found else 0


def test_a_completion_for_an_unknown_talent_is_dead_lettered(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    orphan = completion("LNIP-1999-999999", "8", ["ip_services"])
    publish_training(test_profile, orphan)
    metrics_url = f"http://127.0.0.1:{test_profile.ports.worker('registry')}/metrics"
    eventually(lambda: 'registry_events_dead_lettered_total{type="cn.ipo.ln.training.enrolment.completed.v1"}'
               in httpx.get(metrics_url).text, timeout=40, what="the orphan completion dead-lettered")
    assert mongo[f"registry_{test_profile.name}"]["credit_ledgers"].find_one({"_id": "LNIP-1999-999999"}) is None


def test_evaluation_workflow_certification_public_check_and_targets(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    base = registry(test_profile)
    employer = register_organisation(test_profile, region="210200")
    talent = register_talent(test_profile, employer, region_code="210202", account_subject="talent-cert-1")
    tid = talent["talent_id"]
    me = auth(test_profile, "talent-cert-1", "participant")
    before_services = target(test_profile, "ip_service_talents")
    before_engineers = target(test_profile, "enterprise_ip_engineers")

    # The talent applies for itself; another talent's login cannot see the evaluation.
    applied = httpx.post(f"{base}/v1/evaluations", json={"talent_id": tid, "level": "assistant",
                                                         "category": "ip_services"}, headers=me)
    assert applied.status_code == 201, applied.text
    evaluation = applied.json()
    assert evaluation["id"].startswith("EV-") and evaluation["status"] == "applied"
    assert httpx.get(f"{base}/v1/evaluations/{evaluation['id']}",
                     headers=auth(test_profile, "someone", "participant")).status_code == 404
    assert httpx.get(f"{base}/v1/evaluations/{evaluation['id']}", headers=me).status_code == 200
    duplicate = httpx.post(f"{base}/v1/evaluations", json={"talent_id": tid, "level": "assistant",
                                                           "category": "ip_services"}, headers=me)
    assert duplicate.status_code == 409 and duplicate.json()["existing_id"] == evaluation["id"]
    not_practised = httpx.post(f"{base}/v1/evaluations", headers=coordinator(test_profile),
                               json={"talent_id": tid, "level": "assistant", "category": "enforcement"})
    assert not_practised.status_code == 422

    # Workflow: no grant before review; the talent cannot review or grant.
    too_early = step(test_profile, evaluation, "grant")
    assert too_early.status_code == 409 and "applied cannot become granted" in too_early.json()["detail"]
    assert httpx.post(f"{base}/v1/evaluations/{evaluation['id']}/review",
                      headers={**me, "If-Match": '"1"'}).status_code == 403
    reviewing = step(test_profile, evaluation, "review")
    assert reviewing.status_code == 200 and reviewing.json()["status"] == "under_review"
    evaluation = reviewing.json()

    # Not eligible yet: the problem says what is missing (16 hours in ip_services by the default rules).
    publish_training(test_profile, completion(tid, "8", ["ip_services"]))
    credited(test_profile, tid, 1)
    refused = step(test_profile, evaluation, "grant")
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"].endswith("/not-eligible")
    assert problem["missing"] == [{"kind": "credit_hours",
                                   "detail": "16 credit hours in ip_services needed, 8 earned"}]
    preview = httpx.get(f"{base}/v1/talents/{tid}/eligibility", params={"level": "assistant",
                                                                         "category": "ip_services"}, headers=me)
    assert preview.json()["eligible"] is False and Decimal(preview.json()["credit_hours_earned"]) == 8

    # More training arrives; now the grant goes through.
    course = completion(tid, "8.5", ["ip_services", "enterprise_ip_management"])
    publish_training(test_profile, course)
    credited(test_profile, tid, 2)
    granted = step(test_profile, evaluation, "grant")
    assert granted.status_code == 200, granted.text
    decision = granted.json()
    certificate = decision["certificate_number"]
    assert decision["status"] == "granted" and certificate.startswith("LNIPC-")
    assert decision["eligibility_at_decision"]["eligible"] is True
    assert [h["status"] for h in decision["history"]] == ["applied", "under_review", "granted"]
    again = step(test_profile, decision, "refuse", reasons=["changed my mind"])
    assert again.status_code == 409

    record = httpx.get(f"{base}/v1/talents/{tid}", headers=me).json()
    assert record["level"] == "assistant" and record["version"] == 2
    assert record["certifications"][0]["certificate_number"] == certificate

    events = wait_for_events(test_profile, tid, 2)
    certified = events[-1]
    assert certified["type"] == "cn.ipo.ln.registry.talent.certified.v1"
    assert certified["data"]["certified_level"] == "assistant"
    assert certified["data"]["certified_category"] == "ip_services"
    assert certified["data"]["certificate_number"] == certificate
    assert (certified["data"]["level"], certified["data"]["version"]) == ("assistant", 2)

    # Public checks, no token: the registry's certificate and training's completion certificate.
    public = httpx.get(f"{base}/v1/public/certificates/{certificate}")
    assert public.status_code == 200, public.text
    assert public.json()["valid"] is True and public.json()["kind"] == "certification"
    assert public.json()["holder"] == {"registration_number": tid, "name": "Wang Fang", "status": "active"}
    training_cert = httpx.get(f"{base}/v1/public/certificates/{course.data['certificate_number']}").json()
    assert training_cert["kind"] == "training_completion" and training_cert["valid"] is True
    assert Decimal(training_cert["credit_hours"]) == Decimal("8.5")
    assert "contact" not in json.dumps(public.json()) + json.dumps(training_cert)
    assert httpx.get(f"{base}/v1/public/certificates/LNIPC-1999-000001").status_code == 404
    assert httpx.get(f"{base}/v1/public/talents/{tid}").json()["valid"] is True

    # The plan target moved (certified in ip_services, in Dalian); enterprise engineers did not.
    after = target(test_profile, "ip_service_talents")
    assert after["achieved"] == before_services["achieved"] + 1
    assert after["by_city"].get("210200", 0) == before_services["by_city"].get("210200", 0) + 1
    assert target(test_profile, "enterprise_ip_engineers")["achieved"] == before_engineers["achieved"]
    metrics_url = f"{base}/metrics"
    expected = after["by_city"]["210200"]
    eventually(lambda: f'registry_plan_target_talents{{city="210200",target="ip_service_talents"}} {expected}.0'
               in httpx.get(metrics_url).text, timeout=30, what="the target gauge")

    # Suspension: the credential checks as not valid and the talent stops counting.
    suspended = httpx.post(f"{base}/v1/talents/{tid}/status", json={"status": "suspended", "reason": "audit"},
                           headers={**officer(test_profile), "If-Match": '"2"'})
    assert suspended.status_code == 200, suspended.text
    assert httpx.get(f"{base}/v1/public/certificates/{certificate}").json()["valid"] is False
    assert target(test_profile, "ip_service_talents")["achieved"] == before_services["achieved"]


def test_refusal_and_rules_as_data(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    base = registry(test_profile)
    admin = auth(test_profile, "admin-4", "admin")
    current = httpx.get(f"{base}/v1/certification-rules")
    assert current.status_code == 200
    rules = current.json()
    etag = current.headers["ETag"]
    edited = [dict(r) for r in rules["rules"]]
    for rule in edited:
        if (rule["level"], rule["category"]) == ("assistant", "patent_agency"):
            rule["required_course_ids"] = ["pa-ethics"]
    body = {"edition": "test-required-course", "description": "a required course", "rules": edited}
    assert httpx.put(f"{base}/v1/certification-rules", json=body, headers={**officer(test_profile),
                                                                           "If-Match": etag}).status_code == 403
    assert httpx.put(f"{base}/v1/certification-rules", json=body, headers=admin).status_code == 428
    put = httpx.put(f"{base}/v1/certification-rules", json=body, headers={**admin, "If-Match": etag})
    assert put.status_code == 200, put.text
    try:
        talent = register_talent(test_profile, register_organisation(test_profile), categories=["patent_agency"])
        tid = talent["talent_id"]
        publish_training(test_profile, completion(tid, "40", ["patent_agency"]))
        credited(test_profile, tid, 1)
        application = {"talent_id": tid, "level": "assistant", "category": "patent_agency"}
        keyed = {**coordinator(test_profile), "Idempotency-Key": f"apply-{tid}"}
        first = httpx.post(f"{base}/v1/evaluations", json=application, headers=keyed)
        retried = httpx.post(f"{base}/v1/evaluations", json=application, headers=keyed)
        assert (first.status_code, retried.status_code) == (201, 200), retried.text
        applied = first.json()
        assert retried.json()["id"] == applied["id"]
        listed = httpx.get(f"{base}/v1/evaluations", params={"talent_id": tid}, headers=coordinator(test_profile))
        assert [e["id"] for e in listed.json()["items"]] == [applied["id"]]
        reviewing = step(test_profile, applied, "review").json()
        missing = step(test_profile, reviewing, "grant")
        assert missing.status_code == 409
        assert missing.json()["missing"] == [{"kind": "required_course",
                                              "detail": "required course pa-ethics not completed"}]
        assert missing.json()["rules_version"] == rules["version"] + 1
        no_reason = step(test_profile, reviewing, "refuse", reasons=[])
        assert no_reason.status_code == 422
        refused = step(test_profile, reviewing, "refuse", reasons=["required course pa-ethics missing"])
        assert refused.status_code == 200, refused.text
        assert refused.json()["status"] == "refused"
        assert refused.json()["refusal_reasons"] == ["required course pa-ethics missing"]
        assert step(test_profile, refused.json(), "grant").status_code == 409
        record = httpx.get(f"{base}/v1/talents/{tid}", headers=coordinator(test_profile)).json()
        assert record["level"] is None and record["version"] == 1
    finally:
        latest = httpx.get(f"{base}/v1/certification-rules")
        restore = {"edition": rules["edition"], "description": rules["description"], "rules": rules["rules"]}
        assert httpx.put(f"{base}/v1/certification-rules", json=restore,
                         headers={**admin, "If-Match": latest.headers["ETag"]}).status_code == 200


def test_pools_and_metrics_are_conventional(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    base = registry(test_profile)
    employer = register_organisation(test_profile)
    for _ in range(3):  # at least three active talents in the province, whatever ran before
        register_talent(test_profile, employer, region_code="210102", categories=["enforcement"])
    pools = httpx.get(f"{base}/v1/pools").json()
    shenyang = next(c for c in pools["cities"] if c["code"] == "210100")
    assert shenyang["talents"] >= 1 and shenyang["by_category"].get("enforcement", 0) >= 1
    assert pools["province"]["talents"] >= shenyang["talents"]
    listed = httpx.get(f"{base}/v1/pools/210100/talents", params={"limit": 100}).json()["items"]
    assert listed and all(t["region_code"].startswith("2101") for t in listed)
    assert all("contact" not in t for t in listed)
    province = httpx.get(f"{base}/v1/pools/210000/talents", params={"limit": 2})
    assert province.status_code == 200, province.text
    assert len(province.json()["items"]) == 2 and province.json()["next_cursor"]
    following = httpx.get(f"{base}/v1/pools/210000/talents",
                          params={"limit": 2, "cursor": province.json()["next_cursor"]}).json()["items"]
    assert following and following[0]["talent_id"] > province.json()["items"][-1]["talent_id"]
    assert httpx.get(f"{base}/v1/pools/999900/talents").status_code == 404

    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package"

    def gauges() -> str | None:
        text = httpx.get(f"{base}/metrics").text
        return text if "registry_talents{" in text else None

    text: str = eventually(gauges, timeout=30, what="the talent gauges")
    assert 'registry_plan_target_goal_talents{target="enterprise_ip_engineers"} 1000.0' in text
    assert "registry_plan_target_progress_ratio" in text
    for url in (f"{base}/metrics", f"http://127.0.0.1:{test_profile.ports.worker('registry')}/metrics"):
        result = subprocess.run([promtool, "check", "metrics"], input=httpx.get(url).text, capture_output=True,
                                text=True, timeout=30)
        assert result.returncode == 0, url + ": " + result.stdout + result.stderr


def test_worker_killed_mid_stream_credits_everything_exactly_once(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    """SIGKILL the registry worker while it credits a burst (offsets are committed every 0.5 s, so
    records it had applied are delivered again after the restart), then re-publish part of the burst:
    every completion ends up in the ledger exactly once."""
    worker = services["registry-worker"]
    tid = register_talent(test_profile, register_organisation(test_profile))["talent_id"]
    burst = [completion(tid, "1.5", ["ip_services"]) for _ in range(120)]
    ledgers = mongo[f"registry_{test_profile.name}"]["credit_ledgers"]

    def entries() -> int:
        doc = ledgers.find_one({"_id": tid}, {"entries": 1})
        return len(doc["entries"]) if doc else 0

    publish_training(test_profile, *burst)
    eventually(lambda: entries() >= 10, timeout=40, what="the worker crediting the burst")
    worker.kill()
    at_kill = entries()
    publish_training(test_profile, *burst[:30])  # redelivered on top of whatever the kill causes
    worker.start()
    worker.wait_healthy(90)
    eventually(lambda: entries() >= len(burst) and duplicates_seen(test_profile) >= 30, timeout=90,
               what=f"all {len(burst)} completions credited after the restart (had {at_kill} at the kill)")
    found = ledger(test_profile, tid)
    assert len(found["entries"]) == len(burst)
    assert {e["enrolment_id"] for e in found["entries"]} == {e.subject for e in burst}
    assert Decimal(found["total_hours"]) == Decimal("1.5") * len(burst)


def test_simultaneous_applications_open_one_evaluation(services: dict[str, ManagedProcess],
                                                       test_profile: Profile) -> None:
    talent = register_talent(test_profile, register_organisation(test_profile), categories=["ip_services"])
    application = {"talent_id": talent["talent_id"], "level": "assistant", "category": "ip_services"}
    url = f"{registry(test_profile)}/v1/evaluations"
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: httpx.post(url, json=application, headers=coordinator(test_profile),
                                                     timeout=15), range(6)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 409, 409, 409, 409, 409], [a.text for a in answers]
    opened = next(a.json()["id"] for a in answers if a.status_code == 201)
    assert all(a.json()["existing_id"] == opened for a in answers if a.status_code == 409)
