"""Registry → Kafka → trading, through the real processes, broker and store."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient

from tests.support.stack import api_url, auth, eventually, new_credit_code, organisation_body, projected

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]


def registry_count(mongo: Mongo, profile: Profile) -> int:
    return mongo[f"registry_{profile.name}"]["organisations"].count_documents({})


def test_registered_organisation_appears_in_trading_projection(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    code = new_credit_code("210200")
    response = httpx.post(f"{api_url(test_profile, 'registry')}/v1/organisations",
                          json=organisation_body(code), headers={**auth(test_profile), "X-Correlation-ID": "flow-1"})
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"/v1/organisations/{code}"
    assert response.headers["ETag"] == '"1"'
    assert response.headers["X-Correlation-ID"] == "flow-1"

    seen = eventually(projected(test_profile, code), what="organisation in trading's projection")
    assert seen["name"] == "Dalian Membrane Tech Co., Ltd."
    assert seen["may_list_patents"] is True
    # The event carried the caller's correlation id across the services.
    doc = mongo[f"trading_{test_profile.name}"]["organisations"].find_one({"_id": code})
    assert doc is not None and len(doc["applied_events"]) == 1

    # An update flows as well, guarded by If-Match.
    url = f"{api_url(test_profile, 'registry')}/v1/organisations/{code}"
    officer = auth(test_profile, "officer-1", "officer")
    assert httpx.patch(url, json={"name": "Renamed"}, headers=officer).status_code == 428
    assert httpx.patch(url, json={"name": "Renamed"}, headers={**officer, "If-Match": '"7"'}).status_code == 412
    updated = httpx.patch(url, json={"name": "Dalian Membrane Group"}, headers={**officer, "If-Match": '"1"'})
    assert updated.status_code == 200, updated.text
    assert updated.headers["ETag"] == '"2"'
    eventually(lambda: (p := projected(test_profile, code)()) and p["name"] == "Dalian Membrane Group",
               what="the rename in trading")


def test_idempotency_key_creates_nothing_twice(services: dict[str, ManagedProcess], test_profile: Profile,
                                               mongo: Mongo) -> None:
    code = new_credit_code()
    url = f"{api_url(test_profile, 'registry')}/v1/organisations"
    headers = {**auth(test_profile), "Idempotency-Key": f"retry-{code}"}
    first = httpx.post(url, json=organisation_body(code), headers=headers)
    again = httpx.post(url, json=organisation_body(code), headers=headers)
    assert first.status_code == 201
    assert again.status_code == 200 and again.json() == first.json()
    other = httpx.post(url, json=organisation_body(new_credit_code()), headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")
    duplicate = httpx.post(url, json=organisation_body(code), headers=auth(test_profile))
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"] == [{"pointer": "#/credit_code", "detail": "already registered"}]
    assert mongo[f"registry_{test_profile.name}"]["organisations"].count_documents({"_id": code}) == 1


@pytest.mark.parametrize(
    ("body", "status", "where", "detail_part"),
    [
        (b'{"credit_code": "91210100MA0QTEXT09", "name": ', 400, {"pointer": "#"}, "invalid JSON"),
        ({"colour": "red"}, 422, {"pointer": "#/colour"}, "unknown field"),
        ({"credit_code": "91210100MA0QTEXT08"}, 422, {"pointer": "#/credit_code"}, "check character"),
        ({"credit_code": "91210100MA0QTEXTO9"}, 422, {"pointer": "#/credit_code"}, "not allowed"),
        ({"region_code": "219900"}, 422, {"pointer": "#/region_code"}, "not a city of Liaoning"),
        ({"kind": "pirate"}, 422, {"pointer": "#/kind"}, "Input should be"),
    ],
)
def test_bad_input_gets_a_precise_problem_and_changes_nothing(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo,
    body: bytes | dict[str, Any], status: int, where: dict[str, str], detail_part: str,
) -> None:
    before = registry_count(mongo, test_profile)
    content = body if isinstance(body, bytes) else json.dumps({**organisation_body(new_credit_code()), **body}).encode()
    response = httpx.post(f"{api_url(test_profile, 'registry')}/v1/organisations", content=content,
                          headers={**auth(test_profile), "Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["correlation_id"]
    matching = [e for e in problem["errors"] if all(e.get(k, "").startswith(v) for k, v in where.items())]
    assert matching, problem
    assert any(detail_part in e["detail"] for e in matching), problem
    assert registry_count(mongo, test_profile) == before


def test_oversized_body_is_refused_before_reading_it(services: dict[str, ManagedProcess], test_profile: Profile,
                                                     mongo: Mongo) -> None:
    before = registry_count(mongo, test_profile)
    body = organisation_body(new_credit_code()) | {"address": "x" * 2_000_000}
    response = httpx.post(f"{api_url(test_profile, 'registry')}/v1/organisations", json=body,
                          headers=auth(test_profile))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "1048576 bytes" in response.json()["detail"]
    assert registry_count(mongo, test_profile) == before


def test_authentication_and_roles(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    url = f"{api_url(test_profile, 'registry')}/v1/organisations"
    body = organisation_body(new_credit_code())
    missing = httpx.post(url, json=body)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    garbage = httpx.post(url, json=body, headers={"Authorization": "Bearer not.a.token"})
    assert garbage.status_code == 401
    participant = httpx.post(url, json=body, headers=auth(test_profile, "p-1", "participant"))
    assert participant.status_code == 403
    # Public reads need no token.
    assert httpx.get(url).status_code == 200
