"""The deals sweep: a periodic task in the API process (the deals collections' single writer).

Every few seconds it expires negotiations whose current offer lapsed (reads and actions also apply
expiry themselves, so nobody acts on a lapsed offer between sweeps), completes signings a crash
interrupted (negotiations/signing.py) and recomputes the deal gauges from the store. It runs as the
negotiations router's lifespan, which FastAPI nests inside the kit's (so the ServiceContext exists);
the worker process never includes routers, so it never sweeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from servicekit.mongo import STORE_UNAVAILABLE
from servicekit.service import ServiceContext

from trading.fairs import metrics
from trading.negotiations import service, signing

log = logging.getLogger(__name__)

SWEEP_SECONDS_SETTING = "deals_sweep_seconds"
DEFAULT_SWEEP_SECONDS = 5.0


async def sweep_once(ctx: ServiceContext) -> int:
    expired = await service.expire_lapsed(ctx)
    await signing.resume_interrupted(ctx)
    await metrics.refresh(ctx.db)
    return expired


async def _loop(ctx: ServiceContext, every: float) -> None:
    await ctx.indexes_ready.wait()
    while True:
        try:
            expired = await sweep_once(ctx)
            if expired:
                log.info("expired lapsed negotiations", extra={"count": expired})
        except STORE_UNAVAILABLE as exc:
            log.warning("deals sweep: store unavailable (%s); retrying", type(exc).__name__)
        except Exception:
            log.exception("deals sweep failed; retrying")
        await asyncio.sleep(every)


@asynccontextmanager
async def deals_sweep(app: FastAPI) -> AsyncIterator[None]:
    ctx: ServiceContext = app.state.ctx
    metrics.deal_metrics()  # export the series from the start, zero until the first sweep
    every = float(getattr(ctx.settings, SWEEP_SECONDS_SETTING, DEFAULT_SWEEP_SECONDS))
    task = asyncio.create_task(_loop(ctx, every), name="deals-sweep")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
