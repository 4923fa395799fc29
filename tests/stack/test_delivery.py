"""Nothing lost, nothing applied twice: redelivery, poison records, a killed relay, re-drive."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from devstack.layout import REPO_ROOT, Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient
from registry.organisations.events import OrganisationUpdated
from servicekit.events.envelope import CloudEvent

from tests.support.kafka import consumed, publish_records, read_records
from tests.support.outbox import unsent_documents
from tests.support.probe_service import TOPIC as PROBE_TOPIC
from tests.support.probe_service import ThingRecorded
from tests.support.stack import auth, eventually, gauge, new_credit_code, organisation_body, projected

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]


def snapshot(code: str, name: str, version: int) -> CloudEvent:
    payload = OrganisationUpdated(organisation_id=code, credit_code=code, name=name, kind="enterprise",
                                  region_code="210100", status="active", version=version,
                                  occurred_at=datetime.now(UTC))
    return CloudEvent.new("/ipo/registry", code, payload)


def pending_outboxes(mongo: Mongo, db: str, ids: list[str]) -> int:
    """How many of these documents still hold unpublished events (their pending marker stands)."""
    return unsent_documents(mongo[db], "organisations", ids)


def trading_doc(mongo: Mongo, profile: Profile, code: str) -> dict[str, Any] | None:
    return mongo[f"trading_{profile.name}"]["organisations"].find_one({"_id": code})


async def test_event_delivered_twice_is_applied_once(services: dict[str, ManagedProcess], test_profile: Profile,
                                                     mongo: Mongo) -> None:
    code = new_credit_code()
    v2 = snapshot(code, "Second name", 2)
    v1_late = snapshot(code, "First name, arriving late", 1)
    value = v2.to_record_value()
    await publish_records(test_profile, "registry.events", [(code.encode(), value), (code.encode(), value),
                                                            (code.encode(), v1_late.to_record_value())])
    # A marker after them on the same partition: once it is applied, the three before were handled.
    marker = snapshot(code, "Third name", 3)
    await publish_records(test_profile, "registry.events", [(code.encode(), marker.to_record_value())])
    doc = eventually(lambda: (d := trading_doc(mongo, test_profile, code)) and d["version"] == 3 and d,
                     what="the marker event applied")
    assert doc["applied_events"] == [v2.id, marker.id]  # v2 once; the stale v1 never
    assert doc["name"] == "Third name"


async def test_poison_record_is_dead_lettered_and_the_partition_moves_on(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    code = new_credit_code()
    good = snapshot(code, "After the poison", 1)
    await publish_records(test_profile, "registry.events", [(code.encode(), b"{not json at all"),
                                                            (code.encode(), good.to_record_value())])
    eventually(lambda: trading_doc(mongo, test_profile, code), what="the record after the poison")
    # The worker dead-letters (and waits for the broker's ack) before it moves on to the next record, so
    # the dead letter is on the topic by now: reading up to the topic's current end finds it.
    dead = [m for m in await read_records(test_profile, "trading-worker.dlq") if m.key == code.encode()]
    assert len(dead) == 1
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert headers["dlq-original-topic"] == "registry.events"
    assert headers["dlq-consumer-group"] == "trading-worker"
    assert headers["dlq-error-type"] == "MalformedEvent"
    assert int(headers["dlq-original-offset"]) >= 0 and int(headers["dlq-original-partition"]) >= 0
    assert headers["content-type"] == "application/cloudevents+json"  # the original headers are kept
    assert dead[0].value == b"{not json at all"


def test_relay_killed_between_write_and_publish_loses_nothing(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo, tmp_path: Any
) -> None:
    """A registry API whose relay only sweeps hourly holds accepted events unpublished (its backlog
    gauge counts them); SIGKILL it there, restart it normally, and every accepted organisation reaches
    trading exactly once, after which the new process's backlog gauge is back at 0."""
    port = str(test_profile.ports.api("registry") + 50)
    # Its own database: the session's registry API would otherwise sweep these events up.
    db = "registry_relay_kill"
    slow = _registry_api(test_profile, port, mongo_db=db, outbox_relay_notify="false", outbox_sweep_seconds="3600")
    codes = [new_credit_code() for _ in range(5)]
    try:
        for code in codes:
            response = httpx.post(f"http://127.0.0.1:{port}/v1/organisations", json=organisation_body(code),
                                  headers=auth(test_profile))
            assert response.status_code == 201
        pending = pending_outboxes(mongo, db, codes)
        assert pending == len(codes), "the events should be written but not yet published"
        held = f"http://127.0.0.1:{port}"
        assert gauge(held, "registry_outbox_backlog_events") == len(codes)
        assert gauge(held, "registry_outbox_oldest_age_seconds") > 0
    finally:
        slow.kill()
    # Not a pause but positive signals: registry.events read up to its end holds none of them, and the
    # trading worker has processed everything up to that end, so anything published would be projected.
    keys = {code.encode() for code in codes}
    assert not [r for r in asyncio.run(read_records(test_profile, "registry.events")) if r.key in keys], (
        "nothing should have been published")
    consumed(test_profile, "trading-worker", "registry.events")
    assert not any(projected(test_profile, c)() for c in codes), "nothing should have been published"

    restarted = _registry_api(test_profile, port, mongo_db=db)
    try:
        for code in codes:
            eventually(projected(test_profile, code), what=f"{code} after the restart")
        # "Exactly once" is judged only when nothing more can come: every event is out and trading has
        # consumed registry.events up to its end.
        eventually(lambda: pending_outboxes(mongo, db, codes) == 0, what="the outbox cleared")
        consumed(test_profile, "trading-worker", "registry.events")
        for code in codes:
            doc = trading_doc(mongo, test_profile, code)
            assert doc is not None and len(doc["applied_events"]) == 1
        # Its start-up sweep found the 5 (nothing else announced them to this process); publishing
        # them must have taken them off again.
        eventually(lambda: gauge(f"http://127.0.0.1:{port}", "registry_outbox_backlog_events") == 0,
                   what="the restarted API's backlog gauge back at 0")
    finally:
        restarted.stop()


def test_relay_killed_during_a_burst_loses_nothing_and_duplicates_nothing(
    services: dict[str, ManagedProcess], test_profile: Profile, mongo: Mongo
) -> None:
    port = str(test_profile.ports.api("registry") + 51)
    api = _registry_api(test_profile, port, mongo_db="registry_burst_kill")
    codes = [new_credit_code() for _ in range(60)]
    accepted: list[str] = []

    def register(code: str) -> None:
        try:
            response = httpx.post(f"http://127.0.0.1:{port}/v1/organisations", json=organisation_body(code),
                                  headers=auth(test_profile), timeout=10)
        except httpx.HTTPError:
            return  # the process died under this request: it was never acknowledged
        if response.status_code == 201:
            accepted.append(code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(register, c) for c in codes]
        # Kill it mid-burst: once the first writes are acknowledged (a fixed pause was sometimes too short
        # on a busy machine, and the test then failed with nothing acknowledged).
        eventually(lambda: len(accepted) >= 5, timeout=30, interval=0.01, what="the first writes acknowledged")
        api.kill()
        for f in futures:
            f.result()
    restarted = _registry_api(test_profile, port, mongo_db="registry_burst_kill")
    try:
        assert accepted, "some writes should have been acknowledged before the kill"
        for code in accepted:
            eventually(projected(test_profile, code), what=f"accepted {code}")
        # A duplicate would come from the restarted API publishing again what the killed one published but
        # had not cleared: judge once all is out and trading has consumed registry.events to the end.
        eventually(lambda: pending_outboxes(mongo, "registry_burst_kill", accepted) == 0, what="the outbox cleared")
        consumed(test_profile, "trading-worker", "registry.events")
        for code in accepted:
            doc = trading_doc(mongo, test_profile, code)
            assert doc is not None and len(doc["applied_events"]) == 1
    finally:
        restarted.stop()


def _registry_api(profile: Profile, port: str, **overrides: str) -> ManagedProcess:
    from tests.support.stack import start_service

    return start_service(profile, "registry", "api", name=f"registry-api-{port}", http_port=port, **overrides)


def _probe_env(profile: Profile) -> dict[str, str]:
    return {**os.environ, "PROBE_MONGO_URL": profile.mongo_url, "PROBE_MONGO_DB": "probe_test",
            "PROBE_KAFKA_BOOTSTRAP": profile.kafka_bootstrap, "PROBE_WORKER_PORT": "8499",
            "PROBE_CONSUMER_BACKOFF_INITIAL_SECONDS": "0.05"}


def test_dead_letters_are_redriven_after_the_fix(infra: Any, test_profile: Profile, mongo: Mongo) -> None:
    db = mongo["probe_test"]
    db["faults"].replace_one({"_id": "bug"}, {"_id": "bug", "present": True}, upsert=True)
    worker = ManagedProcess("probe-worker", [sys.executable, "-m", "tests.support.probe_service", "worker"],
                            pid_dir=test_profile.pid_dir, log_dir=test_profile.log_dir, cwd=REPO_ROOT,
                            env=_probe_env(test_profile))
    from devstack.processes import http_ok

    worker.health = http_ok("http://127.0.0.1:8499/readyz")
    worker.start()
    try:
        worker.wait_healthy(90)
        poison = CloudEvent.new("/probe", "k-1", ThingRecorded(thing_id="t-poison", name="poison pill"))
        fine = CloudEvent.new("/probe", "k-1", ThingRecorded(thing_id="t-fine", name="fine"))
        asyncio.run(publish_records(test_profile, PROBE_TOPIC, [(b"k-1", poison.to_record_value()),
                                                                (b"k-1", fine.to_record_value())]))
        eventually(lambda: db["things"].find_one({"_id": "t-fine"}), what="the record after the failing one")
        assert db["things"].find_one({"_id": "t-poison"}) is None
    finally:
        worker.stop()

    redrive = [sys.executable, "-m", "tests.support.probe_service", "redrive"]
    still_broken = subprocess.run(redrive, env=_probe_env(test_profile), cwd=REPO_ROOT, capture_output=True,
                                  text=True, timeout=120)
    assert still_broken.returncode == 1, still_broken.stdout + still_broken.stderr
    assert "cannot handle poison pill" in still_broken.stdout

    db["faults"].update_one({"_id": "bug"}, {"$set": {"present": False}})  # the fix is deployed
    fixed = subprocess.run(redrive, env=_probe_env(test_profile), cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=120)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "re-driven: 1" in fixed.stdout
    assert db["things"].find_one({"_id": "t-poison"}) is not None

    again = subprocess.run(redrive, env=_probe_env(test_profile), cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=120)
    assert "re-driven: 0" in again.stdout, "a re-driven record must not be re-driven twice"
