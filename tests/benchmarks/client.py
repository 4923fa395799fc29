"""The HTTP client the load-generating benchmarks drive the APIs with."""

from __future__ import annotations

import aiohttp

# At most this many requests in flight: with thousands queued inside the client's connection pool (an
# API accepting fewer than the offered rate), the client itself spent minutes of CPU on its waiting
# list and sent almost nothing. A request waiting for a slot is still timed from when it was due.
SLOTS = 64


def session(seconds: float = 30.0) -> aiohttp.ClientSession:
    """aiohttp rather than httpx: httpx took about 5 ms of CPU per request in the benchmark's process
    (tests/benchmarks/checkin.py measured it), a whole core at 200 requests/s, taken from the API and
    the store it times on the same cores; aiohttp about 1 ms."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=SLOTS),
                                 timeout=aiohttp.ClientTimeout(total=seconds))
