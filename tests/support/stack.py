"""Helpers for tests against the real local stack (Kafka and FerretDB started by tests/conftest.py)."""

from __future__ import annotations

import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
from devstack.components import dev_jwt_secret, ensure_ferretdb, service_process
from devstack.layout import Profile
from devstack.processes import ManagedProcess, port_open
from devstack.stack import Stack
from registry.organisations.identifiers import USCC_ALPHABET, uscc_check_character
from servicekit.auth import mint_token

T = TypeVar("T")

ISSUER = "https://auth.ipo.local"
AUDIENCE = "ipo-platform"


def new_credit_code(region: str = "210100") -> str:
    """A fresh, valid Unified Social Credit Code (enterprise, registered in `region`)."""
    body = "91" + region + "".join(random.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_character(body)


def token(profile: Profile, subject: str, *roles: str, org: str | None = None) -> str:
    return mint_token(dev_jwt_secret(profile), subject, roles, issuer=ISSUER, audience=AUDIENCE,
                      organisation_id=org)


def auth(profile: Profile, subject: str = "coordinator-1", *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(profile, subject, *(roles or ('coordinator',)))}"}


def eventually(probe: Callable[[], T | None], timeout: float = 20, interval: float = 0.1,
               what: str = "condition") -> T:
    """Poll `probe` until it returns something other than None/False; fail with `what` after timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return cast(T, last)
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def organisation_body(code: str, name: str = "Dalian Membrane Tech Co., Ltd.") -> dict[str, Any]:
    return {"credit_code": code, "name": name, "kind": "enterprise", "region_code": code[2:8]}


# A test's own FerretDB serves its metrics and Go profiler this far above its own port.
OWN_FERRETDB_METRICS_OFFSET = 100


def own_ferretdb(profile: Profile, name: str, port: int, data_dir: Path) -> ManagedProcess:
    """A FerretDB of a test's own (started and healthy), for tests that stop, pause or break the store
    without disturbing the other tests. Its metrics and Go profiler listen on port +
    OWN_FERRETDB_METRICS_OFFSET, so a failing test can show what the store was doing
    (`store_goroutines`)."""
    argv = [str(ensure_ferretdb()), "-listen", f"127.0.0.1:{port}", "-data-dir", str(data_dir),
            "-metrics-listen", f"127.0.0.1:{port + OWN_FERRETDB_METRICS_OFFSET}"]
    store = ManagedProcess(name, argv, pid_dir=profile.pid_dir, log_dir=profile.log_dir,
                           health=lambda: port_open(port))
    store.start()
    store.wait_healthy(30)
    return store


def store_goroutines(profile: Profile, name: str, port: int, groups: int = 8) -> str:
    """What a test's own FerretDB (listening on `port`) is doing: its goroutines grouped by state and
    first frames, the largest groups first; the whole dump is saved as <log dir>/<name>-goroutines.txt.
    For failure messages, when the store stops answering and the question is why."""
    try:
        dump = httpx.get(f"http://127.0.0.1:{port + OWN_FERRETDB_METRICS_OFFSET}/debug/pprof/goroutine",
                         params={"debug": "2"}, timeout=10).text
    except httpx.HTTPError as exc:
        return f"(no goroutine dump: {exc})"
    saved = profile.log_dir / f"{name}-goroutines.txt"
    saved.write_text(dump)
    counts: Counter[str] = Counter()
    for block in dump.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines or not lines[0].startswith("goroutine "):
            continue
        state = lines[0].split("[", 1)[-1].rstrip(":]").split(",")[0]  # "semacquire", "IO wait", ...
        frames = [line.rsplit("(", 1)[0] for line in lines[1::2][:4]]  # functions without arguments, innermost first
        counts[f"[{state}] " + " < ".join(frames)] += 1
    largest = "\n".join(f"{n:4d} x {signature}" for signature, n in counts.most_common(groups))
    return f"{sum(counts.values())} goroutines (all in {saved}), largest groups:\n{largest}"


def fresh_infrastructure(profile: Profile) -> Stack:
    """Kafka and FerretDB of `profile` started from empty data directories, after stopping what an
    interrupted run of the same profile left (by its pid files). For benchmarks, which each want a
    stack of their own."""
    stack = Stack(profile)
    stack.stop_all_known()
    for sub in ("kafka-data", "ferretdb-data", "logs", "pids"):
        shutil.rmtree(profile.data_dir / sub, ignore_errors=True)
    stack.start_infrastructure()
    return stack


def start_service(profile: Profile, service: str, role: str, *, name: str | None = None,
                  **overrides: str) -> ManagedProcess:
    proc = service_process(profile, service, role, name=name, **overrides)
    proc.start()
    try:
        proc.wait_healthy(90)
    except Exception:
        proc.stop()
        raise
    return proc


def api_url(profile: Profile, service: str) -> str:
    return f"http://127.0.0.1:{profile.ports.api(service)}"


def projected(profile: Profile, organisation_id: str) -> Callable[[], dict[str, Any] | None]:
    def probe() -> dict[str, Any] | None:
        response = httpx.get(f"{api_url(profile, 'trading')}/v1/organisations/{organisation_id}")
        return response.json() if response.status_code == 200 else None

    return probe


def gauge(base_url: str, name: str) -> float:
    """The value of an unlabelled series in a process's /metrics (`base_url` without the path)."""
    for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
        series, _, value = line.partition(" ")
        if series == name:
            return float(value)
    raise AssertionError(f"{name} is not in {base_url}/metrics")


def series_total(base_url: str, name: str) -> float:
    """The sum of every series of `name` in a process's /metrics, whatever its labels (0 when none yet)."""
    total = 0.0
    for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
        series, _, value = line.partition(" ")
        if series == name or series.startswith(name + "{"):
            total += float(value)
    return total
