"""listings.service.alongside: a create's checks run beside the patent's read (pure asyncio, no store)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from trading.listings.service import alongside


def test_the_work_runs_beside_the_block_and_its_answer_is_there_when_awaited() -> None:
    order: list[str] = []

    async def check() -> str:
        order.append("check began")
        await asyncio.sleep(0.01)
        order.append("check ended")
        return "org-1"

    async def main() -> str:
        async with alongside(check()) as owner:
            order.append("block's own read began")
            await asyncio.sleep(0.01)
            answer = await owner
            order.append("block decided")
        return answer

    assert asyncio.run(main()) == "org-1"
    assert order.index("block's own read began") < order.index("check ended"), "the two did not overlap"


def test_a_block_that_fails_first_cancels_the_work_and_its_failure_is_not_reported_twice() -> None:
    reported: list[dict[str, Any]] = []
    reached_the_end = False

    async def slow_check() -> None:
        nonlocal reached_the_end
        await asyncio.sleep(0.05)
        reached_the_end = True

    async def failing_check() -> None:
        raise LookupError("organisation not active")

    async def block_fails(work: Any) -> None:
        async with alongside(work):
            await asyncio.sleep(0.01)
            raise TimeoutError("the patent's read timed out")

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        with pytest.raises(TimeoutError):
            await block_fails(slow_check())
        await asyncio.sleep(0.1)  # past the check's own end, had it gone on
        with pytest.raises(TimeoutError):
            await block_fails(failing_check())
        gc.collect()
        await asyncio.sleep(0)

    asyncio.run(main())
    assert not reached_the_end, "the check went on after the block had failed"
    assert reported == [], f"a check's failure was reported besides the block's: {reported}"
