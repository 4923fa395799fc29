"""Periodic background work, declared once in a service's definition and run by the kit.

A service lists its periodic tasks in its `ServiceDefinition` (`background_tasks`): a name, the
process it belongs in (the API, which is the single writer of the aggregate collections, or the
worker), the interval read from the service's typed settings, and the coroutine to run. The kit runs
each as one loop in that process, after the store's indexes are ready, and exports for every task:

- `<svc>_background_runs_total{task,outcome}`: outcome `ok`, `failed`, or `store_unavailable`;
- `<svc>_background_run_duration_seconds{task}`: how long each run took (does it grow with the data?);
- `<svc>_background_last_success_timestamp_seconds{task}`: when it last finished, for staleness alerts.

A run may be asked for early (`request_run(name)`), e.g. after a change that makes a tally stale;
a burst of requests costs one run. A run gets its own time budget (`budget_seconds`, through
`pymongo.timeout`) rather than the client's socket timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pymongo
from prometheus_client import Counter, Gauge, Histogram

from servicekit.mongo import STORE_UNAVAILABLE
from servicekit.store_audit import set_origin

if TYPE_CHECKING:
    from servicekit.service import ServiceContext

log = logging.getLogger(__name__)

DURATION_BUCKETS = (0.005, 0.025, 0.1, 0.25, 1.0, 2.5, 10.0, 30.0, 120.0, 300.0)


@dataclass(frozen=True)
class BackgroundTask:
    name: str
    run: Callable[[ServiceContext], Awaitable[object]]
    # Seconds between runs, from the service's typed settings (e.g. `lambda s: s.deals_sweep_seconds`
    # with `s: TradingSettings`).
    interval: Callable[[Any], float]
    process: Literal["api", "worker"] = "api"
    # Called once in the process before the first run (export gauges from the start, size a cache).
    prepare: Callable[[ServiceContext], None] | None = None
    # Called once when the process stops, after its runs ended (stop what `prepare` or a run started).
    close: Callable[[ServiceContext], None] | None = None
    budget_seconds: float = 60.0
    # Pause after a run that was asked for early, so a burst of requests costs one run.
    settle_seconds: float = 0.2


@dataclass(frozen=True)
class BackgroundMetrics:
    runs: Counter
    duration: Histogram
    last_success: Gauge


_metrics: dict[str, BackgroundMetrics] = {}


def background_metrics(prefix: str) -> BackgroundMetrics:
    if prefix not in _metrics:
        _metrics[prefix] = BackgroundMetrics(
            runs=Counter(f"{prefix}_background_runs_total", "Runs of periodic background tasks, by outcome",
                         ["task", "outcome"]),
            duration=Histogram(f"{prefix}_background_run_duration_seconds", "Duration of a background task's run",
                               ["task"], buckets=DURATION_BUCKETS),
            last_success=Gauge(f"{prefix}_background_last_success_timestamp_seconds",
                               "Unix time a background task last finished successfully", ["task"]),
        )
    return _metrics[prefix]


# The early-run requests of this process's tasks, by name (one process runs each task once).
_requests: dict[str, asyncio.Event] = {}


def request_run(name: str) -> None:
    """Ask the named task of this process for a run now rather than at its next interval; does nothing
    in a process that does not run it."""
    event = _requests.get(name)
    if event is not None:
        event.set()


class BackgroundRunner:
    """Runs a process's background tasks; started and stopped with the process."""

    def __init__(self, ctx: ServiceContext, tasks: list[BackgroundTask]) -> None:
        self._ctx = ctx
        self._tasks = tasks
        self._running: list[asyncio.Task[None]] = []
        self._metrics = background_metrics(ctx.definition.name)

    def start(self) -> None:
        for task in self._tasks:
            if task.prepare is not None:
                task.prepare(self._ctx)
            self._metrics.runs.labels(task.name, "ok")  # the series exists from the start
            _requests[task.name] = asyncio.Event()
            self._running.append(asyncio.create_task(self._loop(task), name=f"background:{task.name}"))

    async def stop(self) -> None:
        for running in self._running:
            running.cancel()
        for running in self._running:
            with contextlib.suppress(asyncio.CancelledError):
                await running
        self._running = []
        for task in self._tasks:
            _requests.pop(task.name, None)
            if task.close is not None:
                task.close(self._ctx)

    async def run_once(self, task: BackgroundTask) -> str:
        """One run with its budget, measured and counted; returns the outcome."""
        started = time.perf_counter()
        try:
            with pymongo.timeout(task.budget_seconds):
                await task.run(self._ctx)
            outcome = "ok"
            self._metrics.last_success.labels(task.name).set(time.time())
        except STORE_UNAVAILABLE as exc:
            outcome = "store_unavailable"
            log.warning("background task %s: store unavailable (%s); retrying", task.name, type(exc).__name__)
        except Exception:
            outcome = "failed"
            log.exception("background task %s failed; retrying", task.name)
        self._metrics.duration.labels(task.name).observe(time.perf_counter() - started)
        self._metrics.runs.labels(task.name, outcome).inc()
        return outcome

    async def _loop(self, task: BackgroundTask) -> None:
        set_origin(f"background {task.name}")
        await self._ctx.indexes_ready.wait()
        requested = _requests[task.name]
        every = float(task.interval(self._ctx.settings))
        while True:
            requested.clear()
            await self.run_once(task)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(requested.wait(), timeout=every)
                await asyncio.sleep(task.settle_seconds)
