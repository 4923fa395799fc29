"""Work the training API process does in the background: removal follow-ups and operator metrics.

It runs in the API process because that process is the only writer of sessions (see
talents/projection.py): the worker notes that a talent was removed, and this loop cancels the talent's
open enrolments under the API's per-document locks, then deletes the note. It also refreshes the
domain gauges from the store, so they are right after a restart and whatever process changed what.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI
from prometheus_client import Gauge
from servicekit.service import ServiceContext

from training.enrolments import service as enrolments
from training.enrolments.domain import EnrolmentState
from training.sessions import store as session_store
from training.talents import projection as talents
from training.talents.domain import cancels_open_enrolments

log = logging.getLogger(__name__)

FOLLOW_UP_SECONDS = 1.0
METRICS_SECONDS = 5.0



@dataclass(frozen=True)
class DomainGauges:
    """Created by the API process only: a worker serving zeros for these would mislead a sum."""

    enrolments: Gauge
    sessions: Gauge
    seats_free: Gauge
    follow_ups_pending: Gauge


@functools.cache
def gauges() -> DomainGauges:
    return DomainGauges(
        enrolments=Gauge("training_enrolments", "Enrolments by state", ["state"]),
        sessions=Gauge("training_sessions", "Sessions by phase (upcoming, running, ended)", ["phase"]),
        seats_free=Gauge("training_seats_free", "Free seats in sessions that have not ended"),
        follow_ups_pending=Gauge("training_talent_follow_ups_pending",
                                 "Removed talents whose open enrolments are still to be cancelled"),
    )


async def run_follow_ups(ctx: ServiceContext) -> int:
    """Cancel the open enrolments of every talent noted as removed; returns how many were cancelled."""
    cancelled = 0
    notes = [doc async for doc in ctx.db[talents.FOLLOW_UPS].find({})]
    gauges().follow_ups_pending.set(len(notes))
    for note in notes:
        talent = await talents.get(ctx.db, note["talent_id"])
        # Act on the talent's current status: a later reinstatement (should the registry allow one)
        # wins over an older removal note.
        if talent is not None and cancels_open_enrolments(talent["status"]):
            reason = f"talent removed from the registry: {talent.get('status_reason') or note['reason'] or 'no reason'}"
            cancelled += await enrolments.cancel_open_enrolments_of(ctx, note["talent_id"], reason)
        if talent is not None:
            await ctx.db[talents.FOLLOW_UPS].delete_one({"_id": note["_id"]})
    return cancelled


async def refresh_metrics(ctx: ServiceContext) -> None:
    now = datetime.now(UTC)
    by_state = dict.fromkeys((s.value for s in EnrolmentState), 0)
    phases = {"upcoming": 0, "running": 0, "ended": 0}
    free = 0
    for session in await session_store.summaries(ctx.db[session_store.COLLECTION]):
        for state, count in session.get("counts", {}).items():
            by_state[state] = by_state.get(state, 0) + int(count)
        if session["ends_at"] <= now:
            phases["ended"] += 1
            continue
        phases["upcoming" if session["starts_at"] > now else "running"] += 1
        free += max(int(session["capacity"]) - int(session.get("seats_taken", 0)), 0)
    for state, count in by_state.items():
        gauges().enrolments.labels(state).set(count)
    for phase, count in phases.items():
        gauges().sessions.labels(phase).set(count)
    gauges().seats_free.set(free)


async def _loop(ctx: ServiceContext) -> None:
    await ctx.indexes_ready.wait()
    last_metrics = 0.0
    loop = asyncio.get_running_loop()
    while True:
        try:
            await run_follow_ups(ctx)
            if loop.time() - last_metrics >= METRICS_SECONDS:
                await refresh_metrics(ctx)
                last_metrics = loop.time()
        except Exception:
            log.warning("training background round failed; retrying", exc_info=True)
        await asyncio.sleep(FOLLOW_UP_SECONDS)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Runs inside the kit's lifespan (FastAPI nests a router's lifespan), so app.state.ctx exists.
    ctx: ServiceContext = app.state.ctx
    gauges()
    task = asyncio.create_task(_loop(ctx), name="training-background")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


router = APIRouter(lifespan=lifespan)
