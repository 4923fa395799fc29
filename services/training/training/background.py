"""Work the training API process does in the background (declared in the service definition, run by
the kit): removal follow-ups and operator metrics.

It runs in the API process because that process is the only writer of sessions (see
talents/projection.py): the worker notes that a talent was removed, and this loop cancels the talent's
open enrolments under the API's per-document locks, then deletes the note. It also refreshes the
domain gauges from the sessions' tallies (kept with every session change, servicekit.tallies), so they
are right after a restart: a few documents read by `_id`, not every session. Drift (a crash between a
session's write and its count) is repaired by the bulk job `python -m training recount-tallies`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Gauge
from servicekit import tallies
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
    overall = await tallies.read(ctx.db, session_store.SESSIONS_TALLY)
    by_state = dict.fromkeys((s.value for s in EnrolmentState), 0)
    by_state.update(tallies.amounts(overall, "enrolments"))
    # Only the months in which sessions still to end do end: a session that started but has not ended,
    # or has not started, ends at or after now.
    current = session_store.ending_month(now)
    months = sorted(m for m in tallies.amounts(overall, "ending_months") if m >= current)
    ending = await asyncio.gather(*(tallies.read(ctx.db, session_store.ENDING_TALLY + m) for m in months))
    cutoff = int(now.timestamp())

    def after_now(tally: Mapping[str, Any], path: str) -> int:
        return sum(n for at, n in tallies.amounts(tally, path).items() if int(at.removeprefix("t")) > cutoff)

    not_ended = sum(after_now(t, "ends") for t in ending)
    upcoming = sum(after_now(t, "starts") for t in ending)
    free = sum(after_now(t, "free") for t in ending)
    phases = {"upcoming": upcoming, "running": not_ended - upcoming,
              "ended": tallies.amount(overall, "sessions") - not_ended}
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
