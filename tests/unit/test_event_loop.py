"""The kit's event loop for a process that runs one outside `serve` (servicekit.app.new_event_loop; the
trading API's segment folder runs its folds on it): uvloop's, and what a fold asks of it works there, a
worker thread (`asyncio.to_thread`, the fold's merge) and a deadline (`asyncio.timeout`, the driver's
reads under servicekit.mongo_wire)."""

from __future__ import annotations

import asyncio
import threading

import uvloop
from servicekit.app import new_event_loop


def test_the_loop_is_uvloops_and_runs_a_folds_kind_of_work() -> None:
    loop = new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)

        async def fold_like() -> tuple[bool, bool]:
            here = threading.get_ident()
            elsewhere = await asyncio.to_thread(threading.get_ident)
            timed_out = False
            try:
                async with asyncio.timeout(0.01):
                    await asyncio.sleep(5)
            except TimeoutError:
                timed_out = True
            return here != elsewhere, timed_out

        assert loop.run_until_complete(fold_like()) == (True, True)
    finally:
        loop.close()
