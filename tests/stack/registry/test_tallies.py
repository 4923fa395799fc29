"""The registry without scans on its hot paths (issue 10), against the real stack: the talent tally equals
a recount from the talents after a burst of changes and the bulk job repairs it; the account lookup and
the open-evaluation marker are kept by `_id` and a stale one reads as absent."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from devstack.components import service_env
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient
from registry.certification import store as certification_store
from registry.talents import store as talent_store
from registry.targets.domain import TALLY_ID, summary, tally
from servicekit import tallies

from tests.stack.registry.helpers import coordinator, officer, register_organisation, register_talent, registry
from tests.support.stack import auth

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
    return mongo[f"registry_{profile.name}"]


def tally_and_recount(mongo: Mongo, profile: Profile) -> tuple[dict[str, int], dict[str, int]]:
    """The talent tally as stored, and what the talents themselves add up to."""
    db = database(mongo, profile)
    stored = flat(db[tallies.TALLIES].find_one({"_id": TALLY_ID}, {"_id": 0}) or {})
    recount = tallies.contributions(db[talent_store.COLLECTION].find({}), talent_store.AGGREGATE)
    return stored, recount.get(TALLY_ID, {})


def run_job(profile: Profile, job: str = "recount-tallies") -> str:
    """One of the service's bulk jobs (`python -m <service> <job>`), as an operator runs it."""
    env = {**os.environ, **service_env(profile, "registry")}
    done = subprocess.run([sys.executable, "-m", "registry", job], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def change(profile: Profile, talent: dict[str, Any], path: str, body: dict[str, Any], method: str = "POST") -> None:
    url = f"{registry(profile)}/v1/talents/{talent['talent_id']}{path}"
    response = httpx.request(method, url, json=body, headers={**officer(profile), "If-Match": f'"{talent["version"]}"'})
    assert response.status_code == 200, response.text


def test_the_talent_tally_equals_a_recount_after_a_burst_and_the_bulk_job_repairs_it(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    enterprise = register_organisation(test_profile, region="210100")
    university = register_organisation(test_profile, kind="university", region="210200")
    shapes = [
        {"region_code": "210102", "categories": ["ip_services"]},
        {"region_code": "210202", "categories": ["ip_services", "enterprise_ip_management"]},
        {"region_code": "210000", "categories": ["enforcement"]},
        {"region_code": "110105", "categories": ["patent_agency"]},
        {"region_code": "210302", "categories": ["enterprise_ip_management"]},
        {"region_code": "210211", "categories": ["ip_services", "enforcement"]},
    ]
    with ThreadPoolExecutor(max_workers=6) as pool:  # a burst: registrations at the same time
        talents = list(pool.map(lambda i: register_talent(
            test_profile, enterprise if i % 2 else university, **shapes[i % len(shapes)]), range(12)))
        # ...then changes that move counts between keys: suspended, removed, moved city, new categories.
        moves = [
            (talents[0], "/status", {"status": "suspended", "reason": "licence under review"}, "POST"),
            (talents[1], "/status", {"status": "removed", "reason": "left the profession"}, "POST"),
            (talents[2], "", {"region_code": "210402"}, "PATCH"),
            (talents[3], "", {"categories": ["ip_services", "patent_agency"]}, "PATCH"),
            (talents[4], "/status", {"status": "inactive", "reason": "retired this year"}, "POST"),
            (talents[5], "", {"region_code": "120101"}, "PATCH"),
        ]
        list(pool.map(lambda m: change(test_profile, *m), moves))

    stored, recount = tally_and_recount(mongo, test_profile)
    assert stored == recount
    # The public figures are that tally: the same as the pure summary of every talent.
    db = database(mongo, test_profile)
    expected = tally(db[talent_store.COLLECTION].find({}))
    pools = httpx.get(f"{registry(test_profile)}/v1/pools").json()
    assert pools["province"]["talents"] == expected.province.talents
    assert pools["province"]["by_category"] == expected.province.by_category
    targets = httpx.get(f"{registry(test_profile)}/v1/targets").json()
    assert sum(targets["active_talents_by_city"].values()) == sum(expected.talents.values())

    # A crash between a change and its count leaves the tally off; the bulk job recomputes it (and the
    # contribution stored on a talent, should that be off too).
    db[tallies.TALLIES].update_one({"_id": TALLY_ID}, {"$inc": {"pools.210000.talents": 5,
                                                                "talents.ip_services.none.210100": -1}})
    db[talent_store.COLLECTION].update_one({"_id": talents[6]["talent_id"]}, {"$unset": {tallies.TALLIED: ""}})
    skewed, _ = tally_and_recount(mongo, test_profile)
    assert skewed != recount
    assert "talents" in run_job(test_profile)
    stored, recount = tally_and_recount(mongo, test_profile)
    assert stored == recount
    assert summary(db[tallies.TALLIES].find_one({"_id": TALLY_ID}) or {}).province == expected.province
    # ...and changes after the repair keep it exact.
    change(test_profile, talents[6], "/status", {"status": "suspended", "reason": "licence under review"})
    stored, recount = tally_and_recount(mongo, test_profile)
    assert stored == recount


def test_a_login_is_found_by_its_lookup_and_a_stale_lookup_reads_as_absent(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    db = database(mongo, test_profile)
    employer = register_organisation(test_profile)
    talent = register_talent(test_profile, employer, account_subject="talent-lookup-1")
    assert db[talent_store.ACCOUNTS].find_one({"_id": "talent-lookup-1"}) == {
        "_id": "talent-lookup-1", "talent_id": talent["talent_id"]}
    me = httpx.get(f"{registry(test_profile)}/v1/talents/me", headers=auth(test_profile, "talent-lookup-1",
                                                                           "participant"))
    assert me.status_code == 200 and me.json()["talent_id"] == talent["talent_id"]

    # A lookup left by a binding whose talent write did not happen: no record, and it is removed.
    db[talent_store.ACCOUNTS].insert_one({"_id": "talent-lookup-2", "talent_id": talent["talent_id"]})
    missing = httpx.get(f"{registry(test_profile)}/v1/talents/me",
                        headers=auth(test_profile, "talent-lookup-2", "participant"))
    assert missing.status_code == 404
    assert db[talent_store.ACCOUNTS].find_one({"_id": "talent-lookup-2"}) is None
    # ...nor does it stop another talent from taking the login.
    db[talent_store.ACCOUNTS].insert_one({"_id": "talent-lookup-2", "talent_id": talent["talent_id"]})
    other = register_talent(test_profile, employer, account_subject="talent-lookup-2")
    assert db[talent_store.ACCOUNTS].find_one({"_id": "talent-lookup-2"})["talent_id"] == other["talent_id"]

    # Moving a login to another talent: the old holder's binding keeps it bound until released.
    taken = httpx.patch(f"{registry(test_profile)}/v1/talents/{other['talent_id']}",
                        json={"account_subject": "talent-lookup-1"},
                        headers={**coordinator(test_profile), "If-Match": f'"{other["version"]}"'})
    assert taken.status_code == 409
    moved = httpx.patch(f"{registry(test_profile)}/v1/talents/{talent['talent_id']}",
                        json={"account_subject": "talent-lookup-3"},
                        headers={**coordinator(test_profile), "If-Match": f'"{talent["version"]}"'})
    assert moved.status_code == 200, moved.text
    freed = httpx.patch(f"{registry(test_profile)}/v1/talents/{other['talent_id']}",
                        json={"account_subject": "talent-lookup-1"},
                        headers={**coordinator(test_profile), "If-Match": f'"{other["version"]}"'})
    assert freed.status_code == 200, freed.text
    assert httpx.get(f"{registry(test_profile)}/v1/talents/me", headers=auth(
        test_profile, "talent-lookup-1", "participant")).json()["talent_id"] == other["talent_id"]

    # Bindings stored before the lookups existed get theirs from the bulk job.
    db[talent_store.ACCOUNTS].delete_many({"_id": {"$in": ["talent-lookup-1", "talent-lookup-3"]}})
    assert "account lookups" in run_job(test_profile, "rebuild-lookups")
    assert db[talent_store.ACCOUNTS].find_one({"_id": "talent-lookup-1"})["talent_id"] == other["talent_id"]
    assert db[talent_store.ACCOUNTS].find_one({"_id": "talent-lookup-3"})["talent_id"] == talent["talent_id"]


def test_the_open_evaluation_marker_is_set_on_applying_and_cleared_on_closing(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    db = database(mongo, test_profile)
    talent = register_talent(test_profile, register_organisation(test_profile))
    tid = talent["talent_id"]
    body = {"talent_id": tid, "level": "assistant", "category": "ip_services"}
    marker_id = f"{tid}:assistant:ip_services"
    keyed = {**coordinator(test_profile), "Idempotency-Key": f"apply-{tid}"}
    applied = httpx.post(f"{registry(test_profile)}/v1/evaluations", json=body, headers=keyed)
    assert applied.status_code == 201, applied.text
    evaluation = applied.json()
    # A retry of the same request is answered with what it made (the open evaluation is its own).
    retried = httpx.post(f"{registry(test_profile)}/v1/evaluations", json=body, headers=keyed)
    assert retried.status_code == 200 and retried.json()["id"] == evaluation["id"]
    assert db[certification_store.OPEN_EVALUATIONS].find_one({"_id": marker_id}) == {
        "_id": marker_id, "evaluation_id": evaluation["id"]}
    again = httpx.post(f"{registry(test_profile)}/v1/evaluations", json=body, headers=coordinator(test_profile))
    assert again.status_code == 409 and again.json()["existing_id"] == evaluation["id"]

    for action, extra in (("review", None), ("refuse", {"reasons": ["credit hours missing"]})):
        response = httpx.post(f"{registry(test_profile)}/v1/evaluations/{evaluation['id']}/{action}", json=extra,
                              headers={**officer(test_profile), "If-Match": f'"{evaluation["version"]}"'})
        assert response.status_code == 200, response.text
        evaluation = response.json()
    assert db[certification_store.OPEN_EVALUATIONS].find_one({"_id": marker_id}) is None
    reopened = httpx.post(f"{registry(test_profile)}/v1/evaluations", json=body, headers=coordinator(test_profile))
    assert reopened.status_code == 201, reopened.text
    # A late retry of the first request, while another evaluation of the triple is open: still its answer.
    late = httpx.post(f"{registry(test_profile)}/v1/evaluations", json=body, headers=keyed)
    assert late.status_code == 200 and late.json()["id"] == evaluation["id"]

    # A marker naming an evaluation that was never stored (its insert failed) reads as none open.
    other = f"{tid}:assistant:enterprise_ip_management"
    db[certification_store.OPEN_EVALUATIONS].insert_one({"_id": other, "evaluation_id": "EV-1999-999999"})
    fresh = httpx.post(f"{registry(test_profile)}/v1/evaluations", headers=coordinator(test_profile),
                       json={**body, "category": "enterprise_ip_management"})
    assert fresh.status_code == 201, fresh.text
    assert db[certification_store.OPEN_EVALUATIONS].find_one({"_id": other})["evaluation_id"] == fresh.json()["id"]

    # Evaluations opened before the markers existed get theirs from the bulk job.
    db[certification_store.OPEN_EVALUATIONS].delete_many({"_id": {"$in": [marker_id, other]}})
    assert "open-evaluation markers" in run_job(test_profile, "rebuild-lookups")
    restored = db[certification_store.OPEN_EVALUATIONS].find_one({"_id": marker_id})
    assert restored is not None and restored["evaluation_id"] == reopened.json()["id"]
    refused = httpx.post(f"{registry(test_profile)}/v1/evaluations", json=body, headers=coordinator(test_profile))
    assert refused.status_code == 409 and refused.json()["existing_id"] == reopened.json()["id"]
