"""A store that stops answering in the middle of writes (FerretDB paused with SIGSTOP, then resumed):
every answer tells the truth, and retrying the same requests changes each listing exactly once.

- A request that had sent no write gets 503 `store-unavailable` ("nothing was changed"), and indeed
  nothing changed.
- A request that had sent a write gets 503 `outcome-unknown`: the write may land once the store
  resumes. Retrying with the same If-Match then answers 200 with the result, never a spurious 412,
  and the listing moves exactly one version.

Uses a FerretDB and a trading API of its own (a 2 s store budget per request), so other tests are not
disturbed.
"""

from __future__ import annotations

import functools
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pymongo
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from tests.stack.trading_catalogue.support import listing_body, participant
from tests.support.stack import eventually, new_credit_code, own_ferretdb, start_service, store_goroutines
from tests.support.store_proxy import StoreProxy, Trigger

pytestmark = pytest.mark.stack

LISTINGS_PER_BURST = 16
# The pause is aimed, not timed: the API reaches the store through a proxy (tests.support.store_proxy)
# that pauses the store the moment the listing write of the burst's CAUGHT-th publish has gone out, so
# that write lands when the store resumes while its request has already answered. Aiming by time (pause
# N ms into the burst, adapted from burst to burst) depended on the machine's speed and on how many
# other writes a publish makes first: it missed twenty bursts in a row in CI once (2026-12-02) and forty
# once (2026-12-04). The publishes leave a few milliseconds apart, so when the pause comes the others are
# at different steps of their work: some done, some with a write out, some not yet writing.
CAUGHT = LISTINGS_PER_BURST // 2
STAGGER_SECONDS = 0.005
BUDGET_SECONDS = 2.0
# How long a client keeps retrying a request answered 503 (a true answer while the store catches up, or
# while the API's driver reconnects after the pause: it clears its connection pool on a connection that
# timed out, and in-flight requests then fail fast). Ten retries a second apart ran out once in CI
# (2026-12-02, a slower machine: 17 min for the suite instead of 12); a client gives a store longer.
RECOVERY_SECONDS = 90.0


def _seeded(write: Callable[[], object]) -> None:
    """The test's own write straight to the store, retried while SQLite answers "database is locked": a
    store just resumed from a pause can refuse a write for a moment (SQLITE_BUSY), which is not what this
    test is about (the API's answers are)."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        try:
            write()
            return
        except OperationFailure as exc:
            if "database is locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _answered(send: Callable[[], httpx.Response], explain: Callable[[], str]) -> httpx.Response:
    """`send()` again while it answers 503, a second apart, for up to RECOVERY_SECONDS; the last answer.
    When the store never came back, the failure says what the store and the API were doing (`explain()`)."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    answer = send()
    while answer.status_code == 503 and time.monotonic() < deadline:
        time.sleep(1)
        answer = send()
    if answer.status_code == 503:
        pytest.fail(f"still 503 after {RECOVERY_SECONDS:.0f}s: {answer.text}\n{explain()}")
    return answer


def _publish(base: str, headers: dict[str, str], listing_id: str) -> httpx.Response:
    return httpx.post(f"{base}/v1/listings/{listing_id}/publication", headers={**headers, "If-Match": '"1"'},
                      timeout=30)


def _create_draft(base: str, headers: dict[str, str], explain: Callable[[], str]) -> httpx.Response:
    """A draft for the next burst, as a careful client makes it: right after a pause the store is still
    landing what waited, and a create may answer 503 (outcome unknown, or nothing changed) within the short
    budget. Retried with the same Idempotency-Key, it is made exactly once."""
    keyed = {**headers, "Idempotency-Key": f"paused-{uuid.uuid4().hex}"}
    body = listing_body()
    created = _answered(lambda: httpx.post(f"{base}/v1/listings", json=body, headers=keyed, timeout=30), explain)
    assert created.status_code in (200, 201), created.text
    return created


def _read_listing(base: str, headers: dict[str, str], listing_id: str, explain: Callable[[], str]) -> dict[str, Any]:
    """The listing as stored. Right after a resume the store may still be landing what waited, and a read
    may answer 503 within the short budget (a true answer): read again, as a client would."""
    response = _answered(lambda: httpx.get(f"{base}/v1/listings/{listing_id}", headers=headers, timeout=30), explain)
    assert response.status_code == 200, response.text
    listing: dict[str, Any] = response.json()
    return listing


def _version(base: str, headers: dict[str, str], listing_id: str, explain: Callable[[], str]) -> int:
    version: int = _read_listing(base, headers, listing_id, explain)["version"]
    return version


@pytest.mark.timeout(600)
def test_a_paused_store_gets_true_answers_and_safe_retries(services: dict[str, ManagedProcess],
                                                          test_profile: Profile, tmp_path: Any) -> None:
    store_port = test_profile.ports.ferretdb + 21
    store = own_ferretdb(test_profile, "ferretdb-paused", store_port, tmp_path / "ferretdb")
    store_url = f"mongodb://127.0.0.1:{store_port}/"
    organisation = new_credit_code()
    mongo: MongoClient[dict[str, Any]] = MongoClient(store_url, tz_aware=True)
    mongo[f"trading_{test_profile.name}"]["organisations"].insert_one(
        {"_id": organisation, "credit_code": organisation, "name": "Paused Store Co.", "kind": "enterprise",
         "region_code": "210200", "status": "active", "version": 1, "projected_at": datetime.now(UTC)})
    patents = mongo[f"trading_{test_profile.name}"]["patents"]
    api_port = test_profile.ports.api("trading") + 61
    proxy = StoreProxy(store_port)
    api = start_service(test_profile, "trading", "api", name="trading-api-paused", http_port=str(api_port),
                        mongo_url=f"mongodb://127.0.0.1:{proxy.port}/",
                        request_store_budget_seconds=str(BUDGET_SECONDS),
                        outbox_relay_enabled="false")
    base = f"http://127.0.0.1:{api_port}"

    def explain() -> str:
        """Whether the store answers a client other than the API's, what its goroutines are doing, and what
        the API met: tells a stuck store from a stuck driver."""
        started = time.monotonic()
        try:
            with pymongo.timeout(5):
                patents.find_one({})
            direct = f"answered a read in {time.monotonic() - started:.3f}s"
        except PyMongoError as exc:
            direct = f"failed a read after {time.monotonic() - started:.3f}s: {exc}"
        lines = api.tail(2000).splitlines()
        warnings = [line for line in lines if "store unavailable" in line]
        # What the driver's monitor saw (servicekit.store_health): no heartbeat line after the pause while
        # the store answers others points at the driver's monitor, not at the store.
        monitor = [line for line in lines if "store heartbeat" in line or "store server" in line]
        return (f"the store, asked directly: {direct}\n"
                f"the store's goroutines: {store_goroutines(test_profile, store.name, store_port)}\n"
                "the API's last store warnings:\n" + "\n".join(warnings[-5:]) + "\n"
                "the API's driver monitoring, last lines:\n" + "\n".join(monitor[-8:]))

    headers = participant(test_profile, organisation)
    answers: dict[str, httpx.Response] = {}
    try:
        drafts = []
        for _ in range(LISTINGS_PER_BURST):
            created = _create_draft(base, headers, explain)
            drafts.append(created.json()["id"])
            # Only a verified owner publishes: seeded like the organisation, as an officer's verification
            # would leave it (the patent document the draft created).
            _seeded(functools.partial(patents.update_one, {"_id": created.json()["application_number"]},
                                      {"$set": {"owner_organisation_id": organisation}}))
        written: list[str] = []

        def listing_write(command: dict[str, Any]) -> bool:
            """The publish's own write of its listing document (not the outbox marker, lookups or
            tallies it writes first); true at the CAUGHT-th distinct listing."""
            if command.get("update") != "listings":
                return False
            for update in command.get("updates", []):
                listing_id = update["q"].get("_id")
                if listing_id in drafts and listing_id not in written:
                    written.append(listing_id)
            return len(written) >= CAUGHT

        pause = Trigger(listing_write, functools.partial(store.signal, signal.SIGSTOP))
        proxy.arm(pause)
        with ThreadPoolExecutor(LISTINGS_PER_BURST) as pool:
            futures = {}
            for listing_id in drafts:  # the ones sent after the pause meet a silent store
                futures[listing_id] = pool.submit(_publish, base, headers, listing_id)
                time.sleep(STAGGER_SECONDS)
            try:
                assert pause.fired.wait(30), f"only {len(written)} of {CAUGHT} listing writes went out"
                time.sleep(BUDGET_SECONDS + 1.5)
            finally:
                store.signal(signal.SIGCONT)
                pause.release()
            answers.update({i: f.result() for i, f in futures.items()})
        eventually(lambda: httpx.get(f"{base}/readyz").status_code == 200, timeout=30, what="readiness back")
        caught = written[-1]
        tally = Counter(a.json()["type"].rsplit("/", 1)[-1] if a.status_code == 503 else "ok"
                        for a in answers.values())
        # The write went out before the pause and its answer was held: the request cannot know the outcome
        # and says so; the store, resumed, lands the write.
        assert answers[caught].status_code == 503, (answers[caught].status_code, answers[caught].text, tally)
        assert answers[caught].json()["type"].endswith("/outcome-unknown"), (answers[caught].text, tally)
        assert _version(base, headers, caught, explain) == 2, "the write that went out did not land"

        unknown = [i for i, a in answers.items() if a.status_code == 503
                   and a.json()["type"].endswith("/outcome-unknown")]
        unchanged = [i for i, a in answers.items() if a.status_code == 503
                     and a.json()["type"].endswith("/store-unavailable")]
        assert all(a.status_code in (200, 503) for a in answers.values()), \
            {i: (a.status_code, a.text[:200]) for i, a in answers.items()}
        for answer in answers.values():
            if answer.status_code == 503:
                assert answer.headers["content-type"] == "application/problem+json"
                assert answer.headers["Retry-After"]
        for listing_id in unchanged:  # "nothing was changed" was true
            listing = _read_listing(base, headers, listing_id, explain)
            assert (listing["status"], listing["version"]) == ("draft", 1), listing

        # Retry every failed request as it was sent: each completes, none is refused as stale.
        for listing_id in unknown + unchanged:
            # A 503 again is a true answer from a store still catching up: retried the same way.
            retried = _answered(functools.partial(_publish, base, headers, listing_id), explain)
            assert retried.status_code == 200, (listing_id, retried.status_code, retried.text)
            assert retried.json()["version"] == 2
        for listing_id in answers:  # each listing changed exactly once
            listing = _read_listing(base, headers, listing_id, explain)
            assert (listing["status"], listing["version"]) == ("published", 2), listing
    finally:
        store.signal(signal.SIGCONT)
        proxy.close()
        api.stop()
        store.stop()
        mongo.close()
