"""Work the training API process does in the background (declared in the service definition, run by
the kit): removal follow-ups and operator metrics.

It runs in the API process because that process is the only writer of sessions (see
talents/projection.py): the worker notes that a talent was removed, and this loop cancels the talent's
open enrolments under the API's per-document locks, then deletes the note. It also refreshes the
domain gauges from the store, so they are right after a restart and whatever process changed what.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import Gauge
from servicekit.background import BackgroundTask
from servicekit.service import ServiceContext

from training.enrolments import service as enrolments
from training.enrolments.domain import EnrolmentState
from training.sessions import store as session_store
from training.settings import TrainingSettings
from training.talents import projection as talents
from training.talents.domain import cancels_open_enrolments

log = logging.getLogger(__name__)



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
    for session in await session_store.summaries(ctx.db):
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


def _follow_ups_every(settings: TrainingSettings) -> float:
    return settings.follow_up_seconds


def _gauges_every(settings: TrainingSettings) -> float:
    return settings.metrics_refresh_seconds


def _export_gauges(_ctx: ServiceContext) -> None:
    gauges()


async def _run_follow_ups(ctx: ServiceContext) -> None:
    await run_follow_ups(ctx)


REMOVAL_FOLLOW_UPS = BackgroundTask("removal-follow-ups", _run_follow_ups, _follow_ups_every, prepare=_export_gauges)
DOMAIN_GAUGES = BackgroundTask("domain-gauges", refresh_metrics, _gauges_every, prepare=_export_gauges)
