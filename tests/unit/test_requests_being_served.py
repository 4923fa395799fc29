"""The kit's count of the HTTP requests a process is serving (servicekit.middleware), which background
work reads to yield to them (the trading catalogue's segment folder)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from prometheus_client import CollectorRegistry
from servicekit.metrics import kit_metrics
from servicekit.middleware import (
    MetricsMiddleware,
    follow_request_count,
    request_count_cell,
    requests_being_served,
)
from starlette.types import Message, Receive, Scope, Send


def test_a_request_counts_while_it_is_served_and_not_after_even_when_it_fails() -> None:
    seen: list[int] = []
    release = asyncio.Event()
    both_in = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(requests_being_served())
        if len(seen) == 2:
            both_in.set()
        await release.wait()
        if scope["path"] == "/fails":
            raise RuntimeError("the handler failed")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = MetricsMiddleware(app, kit_metrics("being_served_test", CollectorRegistry()))

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    async def serve(path: str) -> None:
        scope: Scope = {"type": "http", "method": "GET", "path": path, "headers": []}
        with contextlib.suppress(RuntimeError):
            await middleware(scope, receive, send)

    async def two_at_once() -> int:
        before = requests_being_served()
        served = [asyncio.create_task(serve("/ok")), asyncio.create_task(serve("/fails"))]
        await both_in.wait()
        during = requests_being_served() - before
        release.set()
        await asyncio.gather(*served)
        assert requests_being_served() == before
        return during

    assert asyncio.run(two_at_once()) == 2
    assert [n - seen[0] for n in seen] == [0, 1]




def test_a_child_process_given_the_cell_reads_its_parent_s_count() -> None:
    """The trading catalogue's segment folder works in a child process and waits for a lull in its
    parent's requests."""
    cell = request_count_cell()
    before = cell.value
    cell.value = before + 3  # as three requests in flight would
    try:
        # Shared memory is handed over only as the child starts (its initializer's arguments).
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=follow_request_count,
                                 initargs=(cell,)) as child:
            assert child.submit(requests_being_served).result(timeout=60) == before + 3
    finally:
        cell.value = before
