"""The talent tally, as the targets and pools routes and the gauges read it.

Every talent change keeps the tally document (`registry.targets.domain.TALLY_ID`) up to date in the
same unit of work (servicekit.tallies; the talents `Aggregate` declares `tallied=contribution`), so a
read is one document by `_id`, whatever the number of talents. The routes read it on every request.
The gauges are served by a custom collector from the last tally a background task (declared in the
service definition, run by the kit) read: every `targets_refresh_seconds`, and right after a talent
change in this process (the services call `mark_stale`). A scrape never touches the store, and label
sets that drop to zero disappear instead of lingering.

Drift (a crash between a talent's write and its `$inc`) is repaired by the bulk job
`python -m registry recount-tallies`, never by a timer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from servicekit import tallies
from servicekit.background import BackgroundTask, request_run
from servicekit.service import ServiceContext

from registry.settings import RegistrySettings
from registry.targets.domain import TALLY_ID, Tally, summary

log = logging.getLogger(__name__)

TALLY_TASK = "talent-tally"


def mark_stale() -> None:
    """A talent changed: refresh the gauges soon (the tally itself is already current)."""
    request_run(TALLY_TASK)


async def current_tally(ctx: ServiceContext) -> Tally:
    """The tally for the public targets and pools routes: one read by `_id`."""
    return summary(await tallies.read(ctx.db, TALLY_ID))


async def refresh_gauges(ctx: ServiceContext) -> Tally:
    result = await current_tally(ctx)
    GAUGES.latest, GAUGES.computed_at = result, time.time()
    return result


class TalentGauges(Collector):
    def __init__(self) -> None:
        self.latest: Tally | None = None
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
                              "Unix time the talent gauges were last read from the talent tally"),
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


async def _refresh(ctx: ServiceContext) -> None:
    await refresh_gauges(ctx)


def _every(settings: RegistrySettings) -> float:
    return settings.targets_refresh_seconds


TALENT_TALLY = BackgroundTask(TALLY_TASK, _refresh, _every, prepare=_register_gauges)
