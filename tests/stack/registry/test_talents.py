"""Talents against the real registry, Kafka and FerretDB: registration, privacy, the status machine
with its public history, events through the outbox, authorisation and bad input."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient

from tests.stack.registry.helpers import (
    coordinator,
    officer,
    register_organisation,
    register_talent,
    registry,
    talent_body,
    wait_for_events,
)
from tests.support.outbox import all_sent
from tests.support.stack import auth, eventually, new_credit_code

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]

SNAPSHOT_FIELDS = {"talent_id", "registration_number", "name", "employer_organisation_id", "region_code",
                   "categories", "level", "status", "version", "occurred_at", "account_subject"}


def test_talent_lifecycle_public_history_and_events(services: dict[str, ManagedProcess], test_profile: Profile,
                                                     mongo: Mongo) -> None:
    employer = register_organisation(test_profile)
    body = talent_body(employer, account_subject="talent-lifecycle")
    number = body["identity_number"]
    created = httpx.post(f"{registry(test_profile)}/v1/talents", json=body, headers=coordinator(test_profile))
    assert created.status_code == 201, created.text
    talent = created.json()
    talent_id = talent["talent_id"]
    assert talent_id == talent["registration_number"]
    assert talent_id.startswith("LNIP-") and len(talent_id) == len("LNIP-2026-000001")
    assert created.headers["Location"] == f"/v1/talents/{talent_id}"
    assert created.headers["ETag"] == '"1"'
    assert (talent["status"], talent["level"], talent["version"]) == ("active", None, 1)
    assert talent["employer_kind"] == "enterprise"
    assert talent["status_history"][0]["reason"] == "registered"

    url = f"{registry(test_profile)}/v1/talents/{talent_id}"
    renamed = httpx.patch(url, json={"name": "Wang Fang-Li"}, headers={**coordinator(test_profile), "If-Match": '"1"'})
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["ETag"] == '"2"'
    stale = httpx.patch(url, json={"name": "Too late"}, headers={**coordinator(test_profile), "If-Match": '"1"'})
    assert stale.status_code == 412

    status_url = f"{url}/status"
    steps = [("suspended", "complaint under investigation", '"2"'), ("active", "investigation closed", '"3"'),
             ("removed", "licence revoked", '"4"')]
    for status, reason, etag in steps:
        response = httpx.post(status_url, json={"status": status, "reason": reason},
                              headers={**officer(test_profile), "If-Match": etag})
        assert response.status_code == 200, response.text
    final = httpx.post(status_url, json={"status": "active", "reason": "appeal"},
                       headers={**officer(test_profile), "If-Match": '"5"'})
    assert final.status_code == 409
    assert final.headers["content-type"] == "application/problem+json"
    assert "removal is final" in final.json()["detail"]
    closed = httpx.patch(url, json={"name": "Anything"}, headers={**coordinator(test_profile), "If-Match": '"5"'})
    assert closed.status_code == 409

    public = httpx.get(f"{registry(test_profile)}/v1/public/talents/{talent_id}")
    assert public.status_code == 200
    check = public.json()
    assert check["valid"] is False
    history = [(h["previous_status"], h["status"], h["reason"]) for h in check["talent"]["status_history"]]
    assert history == [(None, "active", "registered"), ("active", "suspended", "complaint under investigation"),
                       ("suspended", "active", "investigation closed"), ("active", "removed", "licence revoked")]
    assert set(check["talent"]) == {"talent_id", "registration_number", "name", "employer_organisation_id",
                                    "region_code", "categories", "level", "status", "status_history",
                                    "certifications", "registered_at", "version"}
    assert "changed_by" not in json.dumps(check)

    events = wait_for_events(test_profile, talent_id, 5)
    assert [(e["type"].rsplit(".", 2)[-2], e["data"]["version"]) for e in events] == [
        ("registered", 1), ("updated", 2), ("status_changed", 3), ("status_changed", 4), ("status_changed", 5)]
    assert [e["data"].get("reason") for e in events[2:]] == [s[1] for s in steps]
    for event in events:
        assert event["subject"] == talent_id and event["source"] == "/ipo/registry"
        assert set(event["data"]) - {"reason"} == SNAPSHOT_FIELDS
    # Privacy: the identity number is nowhere - not in responses, events or the stored document.
    raw = json.dumps([talent, renamed.json(), check, events])
    assert number not in raw and number[:-1] not in raw
    assert "identity" not in raw and "contact" not in json.dumps(events)
    stored = mongo[f"registry_{test_profile.name}"]["talents"].find_one({"_id": talent_id})
    assert stored is not None
    assert number not in json.dumps(stored, default=str)
    assert len(stored["identity_hash"]) == 64
    eventually(lambda: all_sent(mongo[f"registry_{test_profile.name}"], "talents", talent_id),
               what="the talent's events all sent")


def test_a_talent_sees_only_its_own_record(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    employer = register_organisation(test_profile)
    mine = register_talent(test_profile, employer, account_subject="talent-own-1")
    theirs = register_talent(test_profile, employer, account_subject="talent-own-2")
    me = auth(test_profile, "talent-own-1", "participant")
    base = registry(test_profile)

    own = httpx.get(f"{base}/v1/talents/{mine['talent_id']}", headers=me)
    assert own.status_code == 200 and own.json()["contact"]["email"] == "wang.fang@example.cn"
    assert httpx.get(f"{base}/v1/talents/me", headers=me).json()["talent_id"] == mine["talent_id"]
    assert httpx.get(f"{base}/v1/talents/{mine['talent_id']}/credits", headers=me).status_code == 200

    for path in (theirs["talent_id"], f"{theirs['talent_id']}/credits",
                 f"{theirs['talent_id']}/eligibility?level=assistant&category=ip_services"):
        response = httpx.get(f"{base}/v1/talents/{path}", headers=me)
        assert response.status_code == 404, path
        assert response.json()["detail"] == f"No talent {theirs['talent_id']} is registered."
    stranger = auth(test_profile, "someone-else", "participant")
    assert httpx.get(f"{base}/v1/talents/{mine['talent_id']}", headers=stranger).status_code == 404
    assert httpx.get(f"{base}/v1/talents/me", headers=stranger).status_code == 404
    assert httpx.get(f"{base}/v1/talents/{mine['talent_id']}").status_code == 401
    assert httpx.get(f"{base}/v1/talents", headers=me).status_code == 403
    assert httpx.post(f"{base}/v1/talents", json=talent_body(employer), headers=me).status_code == 403
    # The talent cannot edit its record or change its status; a coordinator cannot change status.
    assert httpx.patch(f"{base}/v1/talents/{mine['talent_id']}", json={"name": "Me"},
                       headers={**me, "If-Match": '"1"'}).status_code == 403
    assert httpx.post(f"{base}/v1/talents/{mine['talent_id']}/status", json={"status": "inactive", "reason": "x y z"},
                      headers={**coordinator(test_profile), "If-Match": '"1"'}).status_code == 403
    # Staff see both; the staff listing filters by employer.
    listing = httpx.get(f"{base}/v1/talents", params={"employer_organisation_id": employer},
                        headers=coordinator(test_profile))
    assert {t["talent_id"] for t in listing.json()["items"]} == {mine["talent_id"], theirs["talent_id"]}
    # A login binds to one talent only.
    taken = httpx.post(f"{base}/v1/talents", json=talent_body(employer, account_subject="talent-own-1"),
                       headers=coordinator(test_profile))
    assert taken.status_code == 409 and taken.json()["errors"][0]["pointer"] == "#/account_subject"


def test_bad_input_changes_nothing(services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo) -> None:
    talents = mongo[f"registry_{test_profile.name}"]["talents"]
    employer = register_organisation(test_profile)
    url = f"{registry(test_profile)}/v1/talents"
    before = talents.count_documents({})

    bad_number = talent_body(employer)
    bad_number["identity_number"] = bad_number["identity_number"][:-1] + (
        "0" if bad_number["identity_number"][-1] != "0" else "1")
    response = httpx.post(url, json=bad_number, headers=coordinator(test_profile))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["pointer"] == "#/identity_number" and "check character" in error["detail"]
    assert bad_number["identity_number"] not in response.text

    unknown = httpx.post(url, json=talent_body(new_credit_code("210300")),
                         headers=coordinator(test_profile))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "#/employer_organisation_id"

    gone = register_organisation(test_profile)
    org_url = f"{registry(test_profile)}/v1/organisations/{gone}"
    assert httpx.patch(org_url, json={"status": "deregistered"},
                       headers={**officer(test_profile), "If-Match": '"1"'}).status_code == 200
    inactive_employer = httpx.post(url, json=talent_body(gone), headers=coordinator(test_profile))
    assert inactive_employer.status_code == 422 and inactive_employer.json()["type"].endswith("employer-not-active")

    for field, value in (("categories", []), ("categories", ["astrology"]), ("region_code", "990000"),
                         ("categories", ["ip_services", "ip_services"]), ("level", "senior")):
        response = httpx.post(url, json=talent_body(employer, **{field: value}), headers=coordinator(test_profile))
        assert response.status_code == 422, (field, value, response.text)
        assert response.json()["errors"][0]["pointer"].startswith(f"#/{field}")
    assert talents.count_documents({}) == before

    # One person is registered once, however the number is written.
    first = talent_body(employer)
    assert httpx.post(url, json=first, headers=coordinator(test_profile)).status_code == 201
    again = talent_body(employer, name="Wang F.", identity_number=" " + first["identity_number"].lower() + " ")
    duplicate = httpx.post(url, json=again, headers=coordinator(test_profile))
    assert duplicate.status_code == 409 and duplicate.json()["type"].endswith("duplicate-talent")
    assert first["identity_number"] not in duplicate.text

    # Idempotency-Key: a retried POST creates nothing twice; another body under the key is refused.
    keyed = talent_body(employer)
    headers = {**coordinator(test_profile), "Idempotency-Key": f"talent-{keyed['identity_number']}"}
    one = httpx.post(url, json=keyed, headers=headers)
    two = httpx.post(url, json=keyed, headers=headers)
    assert (one.status_code, two.status_code) == (201, 200)
    assert one.json()["talent_id"] == two.json()["talent_id"]
    other = httpx.post(url, json=talent_body(employer), headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")
    assert talents.count_documents({}) == before + 2
