"""The deals sweep: a periodic task in the API process (the deals collections' single writer),
declared in the service definition and run by the kit (servicekit.background).

Every few seconds it expires negotiations whose current offer lapsed (reads and actions also apply
expiry themselves, so nobody acts on a lapsed offer between sweeps), completes signings a crash
interrupted (negotiations/signing.py) and recomputes the deal gauges from the store.
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
    await metrics.refresh(ctx.db)
    if expired:
        log.info("expired lapsed negotiations", extra={"count": expired})
    return expired


def _every(settings: TradingSettings) -> float:
    return settings.deals_sweep_seconds


def _export_gauges(_ctx: ServiceContext) -> None:
    metrics.deal_metrics()  # the series exist from the start, zero until the first sweep


DEALS_SWEEP = BackgroundTask("deals-sweep", sweep_once, _every, prepare=_export_gauges)


