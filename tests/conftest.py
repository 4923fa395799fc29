"""Session fixtures: the real local stack on the `test` profile (its own ports and data directory,
so `make run` can run alongside). Kafka and FerretDB are started once per session from a clean data
directory; the registry API, trading API and trading worker run as real processes."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from devstack.components import roles_of
from devstack.layout import SERVICES, Profile, profile
from devstack.processes import ManagedProcess
from devstack.stack import Stack
from pymongo import MongoClient

from tests.support.stack import start_service
from tests.support.store_audit import audit_dir, recorded_since, unexpected_scans


@pytest.fixture(scope="session")
def test_profile() -> Profile:
    # IPO_TEST_PROFILE picks a spare stack (test2, test3) so two test runs on one machine do not clash.
    return profile(os.environ.get("IPO_TEST_PROFILE", "test"))


@pytest.fixture(scope="session")
def infra(test_profile: Profile) -> Iterator[Stack]:
    stack = Stack(test_profile)
    stack.stop_all_known()  # leftovers of an interrupted run of this profile (ours, by pid file)
    for sub in ("kafka-data", "ferretdb-data", "kafka-conf", "logs", "pids", audit_dir(Path()).name):
        shutil.rmtree(test_profile.data_dir / sub, ignore_errors=True)
    stack.start_infrastructure()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def services(infra: Stack, test_profile: Profile) -> Iterator[dict[str, ManagedProcess]]:
    """Every process `make run` starts: each service's API, and its worker when it consumes events."""
    procs: dict[str, ManagedProcess] = {}
    # IPO_TEST_SERVICES=registry,trading narrows it while working on some services; CI starts them all.
    wanted = [s for s in os.environ.get("IPO_TEST_SERVICES", ",".join(SERVICES)).split(",") if s]
    try:
        for service in wanted:
            for role in roles_of(service):
                procs[f"{service}-{role}"] = start_service(
                    test_profile, service, role, store_filter_audit_dir=str(audit_dir(test_profile.data_dir)),
                    # Gauges a test waits for are recounted every 5 s here rather than every 30 s.
                    deal_gauges_seconds="5",
                    # Publicity: an embargo of 3 s (5 min in production) so a test sees a release appear
                    # just after it; its scheduler and gauges run often.
                    min_embargo_seconds="3", scheduler_seconds="0.5", gauges_seconds="1",
                    # ... and drafts news at every 3rd training completion (100th in production).
                    completions_milestone_every="3")
    except BaseException:
        for proc in procs.values():
            proc.stop()
        raise
    yield procs
    for proc in procs.values():
        proc.stop()


@pytest.fixture(scope="session")
def mongo(infra: Stack, test_profile: Profile) -> Iterator[MongoClient[dict[str, object]]]:
    client: MongoClient[dict[str, object]] = MongoClient(test_profile.mongo_url, serverSelectionTimeoutMS=3000,
                                                         tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def store_scans_checked(services: dict[str, ManagedProcess], test_profile: Profile) -> Iterator[None]:
    """Fail the test if any service process sent the store a scanning filter (anything but an exact
    `{_id: value}`, see servicekit.store_audit) that tests/stack/store_scans.py does not list as a
    deliberate exception. Background tasks running meanwhile are checked too."""
    started = time.time()
    yield
    found = recorded_since(audit_dir(test_profile.data_dir), started)
    unexpected = unexpected_scans(found)
    assert not unexpected, ("scanning store filters not listed in tests/stack/store_scans.py:\n"
                            + "\n".join(unexpected))
