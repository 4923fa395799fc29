"""The kit's lean send and receive (servicekit.mongo_wire) keep PyMongo's time limits and cancellation,
against a FerretDB of the test's own that it pauses (SIGSTOP) so that no reply comes:

- a command under a short budget ends with PyMongo's timeout error at about its budget;
- a command under a long budget (a background task's five minutes) ends with PyMongo's "operation
  cancelled" once the driver's monitor finds the store silent and interrupts the pool's connections,
  not when its own budget runs out. (PyMongo's own receive watched for that with a task per read; the
  kit's one watcher per event loop must do the same.)

Both with the lean calls in use; the same checks pass with PyMongo's own (`mongo_lean_wire` off), which
is what they were written against.
"""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pymongo
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import AutoReconnect, ExecutionTimeout, NetworkTimeout, PyMongoError
from servicekit import mongo_wire
from servicekit.mongo import mongo_client
from servicekit.settings import ServiceSettings

from tests.support.stack import own_ferretdb

pytestmark = pytest.mark.stack

SHORT_BUDGET_SECONDS = 1.5
LONG_BUDGET_SECONDS = 300.0
# The monitor checks the store every 10 s (PyMongo's heartbeatFrequencyMS) and gives a check 2 s (the
# kit's connect timeout): a silent store is found within about 12 s, plus the 0.5 s watch.
INTERRUPTED_WITHIN_SECONDS = 30.0


@dataclass
class PausableStore:
    process: ManagedProcess
    counters: AsyncCollection[dict[str, object]]


@pytest.fixture
async def store(test_profile: Profile, tmp_path: Path) -> AsyncIterator[PausableStore]:
    port = test_profile.ports.ferretdb + 23
    process = own_ferretdb(test_profile, "ferretdb-wire", port, tmp_path / "ferretdb")
    client = mongo_client(ServiceSettings(service_name="store-wire", mongo_url=f"mongodb://127.0.0.1:{port}/"))
    assert mongo_wire.in_use(), "the kit's client should use the lean send and receive with this PyMongo"
    counters = client["store_wire"]["counters"]
    await counters.insert_one({"_id": "n", "n": 0})
    try:
        yield PausableStore(process, counters)
    finally:
        process.signal(signal.SIGCONT)
        await client.close()
        process.stop()


async def timed_update(counters: AsyncCollection[dict[str, object]], budget: float) -> tuple[PyMongoError, float]:
    started = time.monotonic()
    with pytest.raises(PyMongoError) as raised, pymongo.timeout(budget):
        await counters.update_one({"_id": "n"}, {"$inc": {"n": 1}})
    return raised.value, time.monotonic() - started


async def test_a_command_on_a_silent_store_ends_at_its_budget(store: PausableStore) -> None:
    await store.counters.find_one({"_id": "n"})  # a connection in the pool, so the update only waits for its reply
    store.process.signal(signal.SIGSTOP)
    error, took = await timed_update(store.counters, SHORT_BUDGET_SECONDS)
    assert isinstance(error, NetworkTimeout | ExecutionTimeout), f"{type(error).__name__}: {error}"
    assert SHORT_BUDGET_SECONDS * 0.9 <= took < SHORT_BUDGET_SECONDS + 2.0, f"ended after {took:.2f}s"


async def test_a_command_on_a_silent_store_is_cancelled_when_the_monitor_gives_up(store: PausableStore) -> None:
    await store.counters.find_one({"_id": "n"})
    store.process.signal(signal.SIGSTOP)
    error, took = await timed_update(store.counters, LONG_BUDGET_SECONDS)
    assert isinstance(error, AutoReconnect) and not isinstance(error, NetworkTimeout), (
        f"{type(error).__name__}: {error}")
    assert "cancelled" in str(error), str(error)
    assert took < INTERRUPTED_WITHIN_SECONDS, f"ended only after {took:.1f}s"
