"""Live tallies of talents and plan targets, recomputed by the API process from the store.

The API is the only process that changes talents, so it keeps the gauges: a background task
(declared in the service definition, run by the kit) recomputes the tally every
`targets_refresh_seconds` and right after any talent change (the services call `mark_stale`). The
gauges are served from that last tally by a custom collector, so a scrape never touches the store,
and label sets that drop to zero disappear instead of lingering.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from servicekit.background import BackgroundTask, request_run
from servicekit.service import ServiceContext

from registry.settings import RegistrySettings
from registry.talents import store as talent_store
from registry.targets.domain import Tally, tally

log = logging.getLogger(__name__)

TALLY_TASK = "talent-tally"
# Bumped by every talent change in this process: a tally computed at the current generation is exact
# for this process's writes. Other API replicas' writes are picked up within MAX_AGE_SECONDS.
_generation = 0
MAX_AGE_SECONDS = 5.0


def mark_stale() -> None:
    """A talent changed: recompute the tallies soon (the event only exists in the API process)."""
    global _generation
    _generation += 1
    request_run(TALLY_TASK)


async def current_tally(ctx: ServiceContext) -> Tally:
    """The tally for the public targets and pools routes: the last one if nothing changed since and
    it is recent, else a new one from the store (so a burst of anonymous reads costs one scan)."""
    if (GAUGES.latest is not None and GAUGES.generation == _generation
            and time.time() - GAUGES.computed_at < MAX_AGE_SECONDS):
        return GAUGES.latest
    return await recount(ctx)


async def recount(ctx: ServiceContext) -> Tally:
    generation = _generation  # taken before the read: a change during the scan leaves it stale
    result = tally(await talent_store.tally_rows(ctx.db[talent_store.COLLECTION]))
    GAUGES.latest, GAUGES.generation, GAUGES.computed_at = result, generation, time.time()
    return result


class TalentGauges(Collector):
    def __init__(self) -> None:
        self.latest: Tally | None = None
        self.generation = -1
        self.computed_at = 0.0

    def _families(self) -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("registry_talents", "Active talents by declared category, level and city "
                              "(level 'none' until certified)", labels=["category", "level", "city"]),
            GaugeMetricFamily("registry_plan_target_talents",
                              "Active talents counting toward a plan target, by city", labels=["target", "city"]),
            GaugeMetricFamily("registry_plan_target_goal_talents", "The plan target's goal", labels=["target"]),
            GaugeMetricFamily("registry_plan_target_progress_ratio",
                              "Share of the plan target's goal reached (1 = reached)", labels=["target"]),
            GaugeMetricFamily("registry_talent_tally_timestamp_seconds",
                              "Unix time the talent gauges were last recomputed from the store"),
        )

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        current = self.latest
        if current is None:
            return ()
        talents, targets, goals, ratios, stamp = self._families()
        for (category, level, city), count in sorted(current.talents.items()):
            talents.add_metric([category, level, city], count)
        for target in current.targets:
            for city, count in sorted(target.by_city.items()):
                targets.add_metric([target.name, city], count)
            goals.add_metric([target.name], target.goal)
            ratios.add_metric([target.name], target.ratio)
        stamp.add_metric([], self.computed_at)
        return (talents, targets, goals, ratios, stamp)


GAUGES = TalentGauges()
_registered = False


def _register_gauges(_ctx: ServiceContext) -> None:
    global _registered
    if not _registered:
        REGISTRY.register(GAUGES)
        _registered = True


async def _recount(ctx: ServiceContext) -> None:
    await recount(ctx)


def _every(settings: RegistrySettings) -> float:
    return settings.targets_refresh_seconds


TALENT_TALLY = BackgroundTask(TALLY_TASK, _recount, _every, prepare=_register_gauges)
