"""The deals sweep: a periodic task in the API process (the deals collections' single writer),
declared in the service definition and run by the kit (servicekit.background).

Every few seconds it expires negotiations whose current offer lapsed (reads and actions also apply
expiry themselves, so nobody acts on a lapsed offer between sweeps) and completes signings a crash
interrupted (negotiations/signing.py), both found through their markers. A slower task recomputes
the deal gauges from the store.
"""

from __future__ import annotations

import logging

from servicekit.background import BackgroundTask
from servicekit.service import ServiceContext

from trading.fairs import metrics
from trading.negotiations import service, signing
from trading.settings import TradingSettings

log = logging.getLogger(__name__)


async def sweep_once(ctx: ServiceContext) -> int:
    expired = await service.expire_lapsed(ctx)
    await signing.resume_interrupted(ctx)
    if expired:
        log.info("expired lapsed negotiations", extra={"count": expired})
    return expired


def _every(settings: TradingSettings) -> float:
    return settings.deals_sweep_seconds


def _export_gauges(_ctx: ServiceContext) -> None:
    metrics.deal_metrics()  # the series exist from the start, zero until the first run


async def refresh_gauges(ctx: ServiceContext) -> None:
    await metrics.refresh(ctx.db)


def _gauges_every(settings: TradingSettings) -> float:
    return settings.deal_gauges_seconds


# The sweep works from markers (offer deadlines, signings in progress): cheap, so every few seconds.
DEALS_SWEEP = BackgroundTask("deals-sweep", sweep_once, _every)
# The gauges recount the deals (they grow with them): a separate, slower task.
DEAL_GAUGES = BackgroundTask("deal-gauges", refresh_gauges, _gauges_every, prepare=_export_gauges)


