"""Faults against the real stack: a worker SIGKILLed mid-stream, the Kafka broker restarted.

Nothing accepted may be lost and nothing applied twice: the worker's effect here is a running total
(`$inc`), so an event applied twice would show as a total above what was sent.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx
import pytest
from devstack.layout import REPO_ROOT, Profile
from devstack.processes import ManagedProcess, http_ok
from devstack.stack import Stack
from pymongo import MongoClient
from servicekit.events.envelope import CloudEvent
from servicekit.events.topics import domain_topic, ensure_topics

from tests.support.kafka import consumed, publish_events
from tests.support.probe_service import TALLY_TOPIC, AmountCounted
from tests.support.stack import api_url, auth, eventually, gauge, new_credit_code, organisation_body, projected

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]
TALLIES = 20
EVENTS = 3000
PROBE_DB = "probe_faults"


def _probe_worker(profile: Profile) -> ManagedProcess:
    port = profile.ports.worker_base + 90
    env = {**os.environ, "PROBE_SERVICE_NAME": "probe-faults", "PROBE_MONGO_URL": profile.mongo_url,
           "PROBE_MONGO_DB": PROBE_DB, "PROBE_KAFKA_BOOTSTRAP": profile.kafka_bootstrap,
           "PROBE_WORKER_PORT": str(port)}
    worker = ManagedProcess("probe-faults-worker", [sys.executable, "-m", "tests.support.probe_service", "worker"],
                            pid_dir=profile.pid_dir, log_dir=profile.log_dir, cwd=REPO_ROOT, env=env)
    worker.health = http_ok(f"http://127.0.0.1:{port}/readyz")
    return worker


async def _publish_amounts(profile: Profile) -> None:
    await ensure_topics(profile.kafka_bootstrap, [domain_topic(TALLY_TOPIC.removesuffix(".events"))], 1)
    tallies = [f"tally-{i % TALLIES}" for i in range(EVENTS)]
    events = [CloudEvent.new("/probe", tally, AmountCounted(tally_id=tally, amount=1)) for tally in tallies]
    await publish_events(profile, TALLY_TOPIC, events)


def _total(mongo: Mongo) -> int:
    return sum(int(doc.get("total", 0)) for doc in mongo[PROBE_DB]["tallies"].find({}, {"total": 1}))


def test_worker_killed_mid_stream_loses_nothing_and_applies_nothing_twice(infra: Stack, test_profile: Profile,
                                                                          mongo: Mongo) -> None:
    mongo.drop_database(PROBE_DB)
    asyncio.run(_publish_amounts(test_profile))
    worker = _probe_worker(test_profile)
    worker.start()
    try:
        worker.wait_healthy(90)
        # Kill it while it is busy: some events applied, their offsets not all committed yet.
        eventually(lambda: _total(mongo) >= EVENTS // 10, timeout=60, interval=0.05, what="the worker under way")
        worker.kill()
        at_kill = _total(mongo)
        assert at_kill < EVENTS, "the worker finished before it could be killed; send more events"

        worker.start()
        worker.wait_healthy(90)
        eventually(lambda: _total(mongo) >= EVENTS, timeout=120, what=f"all {EVENTS} amounts applied")
        # Anything applied twice is applied before the worker commits past it: once the group has
        # committed every partition up to its end, the total is final.
        consumed(test_profile, "probe-faults-worker", TALLY_TOPIC)
        assert _total(mongo) == EVENTS
        for doc in mongo[PROBE_DB]["tallies"].find():
            assert len(doc["applied_events"]) == len(set(doc["applied_events"])) == doc["total"]
    finally:
        worker.stop()


def test_broker_restart_loses_nothing(services: dict[str, ManagedProcess], infra: Stack,
                                      test_profile: Profile) -> None:
    """Writes accepted while Kafka is down are published once it is back, and consumers resume. The
    registry API's backlog gauges count them while they wait (not only at the next sweep) and the
    backlog falls back to 0 once they are published."""
    registry = api_url(test_profile, "registry")
    kafka = next(p for p in infra.started if p.name == "kafka")
    kafka.stop()
    try:
        accepted = []
        for _ in range(5):
            code = new_credit_code()
            response = httpx.post(f"{registry}/v1/organisations",
                                  json=organisation_body(code), headers=auth(test_profile), timeout=10)
            assert response.status_code == 201, response.text
            accepted.append(code)
        ready = httpx.get(f"{registry}/readyz", timeout=15)
        assert ready.status_code == 503
        assert ready.json()["checks"]["kafka"] != "ok"
        # The sweep runs every 30 s: a backlog seen now comes from the relay's own bookkeeping.
        assert gauge(registry, "registry_outbox_backlog_events") >= len(accepted)
        eventually(lambda: gauge(registry, "registry_outbox_oldest_age_seconds") >= 1.0,
                   what="the oldest waiting event's age growing while Kafka is down")
    finally:
        kafka.start()
        kafka.wait_healthy(120)
    for code in accepted:
        eventually(projected(test_profile, code), timeout=120, what=f"{code} reaching trading after the restart")
    eventually(lambda: gauge(registry, "registry_outbox_backlog_events") == 0, timeout=30,
               what="the backlog gauge back at 0 once everything was published")
    assert gauge(registry, "registry_outbox_oldest_age_seconds") == 0
    after = new_credit_code()
    response = httpx.post(f"{api_url(test_profile, 'registry')}/v1/organisations", json=organisation_body(after),
                          headers=auth(test_profile), timeout=10)
    assert response.status_code == 201, response.text
    eventually(projected(test_profile, after), timeout=60, what="a write after the restart reaching trading")
