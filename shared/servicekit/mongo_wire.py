"""PyMongo's asyncio send and receive of one wire message, without a task per call.

Why: PyMongo 4.15's asyncio client sends each command through `asyncio.wait_for` (on Python 3.11 a new
task wrapping a write that never waits) and receives each reply with two new tasks raced by
`asyncio.wait`: the read, and a loop that wakes every 0.5 s to see whether the connection's
cancellation context was cancelled (the pool does that when the driver's monitor finds the server gone,
`interrupt_connections`). A create + publish makes some fourteen store calls in the trading API, whose
one event loop is the busiest core under load (measured through the API: README, "Twenty-eighth
session").

What stays as PyMongo does it: the time limit (the operation's deadline, or the socket timeout, raised
as `socket.timeout`, i.e. TimeoutError, for PyMongo to turn into NetworkTimeout), cancellation (an
interrupted connection's read ends with PyMongo's own `_OperationCancelled` within `POLL_SECONDS`, as
its poll did; here one watcher per event loop looks at every read in flight, only while there are
some), the reply's unpacking, and every caller (pool.py and network.py call these names; nothing else does).

PyMongo's functions are replaced only for the version whose code this was written against
(`PYMONGO_VERSION`); any other version runs as published, with a warning, and
tests/unit/test_mongo_wire.py fails until this module is checked against the new code (or removed).
`ServiceSettings.mongo_lean_wire` turns it off, to compare.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import TYPE_CHECKING, Any

import pymongo
from pymongo import _csot, network_layer
from pymongo.asynchronous import network as pymongo_network
from pymongo.asynchronous import pool as pymongo_pool
from pymongo.common import MAX_MESSAGE_SIZE
from pymongo.errors import _OperationCancelled
from pymongo.message import _UNPACK_REPLY

if TYPE_CHECKING:
    from pymongo.asynchronous.pool import AsyncConnection
    from pymongo.message import _OpMsg, _OpReply
    from pymongo.network_layer import PyMongoProtocol

log = logging.getLogger(__name__)

PYMONGO_VERSION = "4.15.4"
# How often a read in flight is checked for cancellation (PyMongo's own poll: network_layer._POLL_TIMEOUT).
POLL_SECONDS = 0.5

_PUBLISHED = {"async_sendall": network_layer.async_sendall,
              "async_receive_message": network_layer.async_receive_message}
_CALLERS = (pymongo_network, pymongo_pool)


async def send(protocol: PyMongoProtocol, message: bytes) -> None:
    """PyMongo's `async_sendall`: the protocol's write only buffers into the transport (it never
    waits), so a time limit around it could not expire."""
    await protocol.write(message)


class _ReadWatch:
    """The reads in flight on one event loop, each with its connection and time limit; one task looks
    at them every POLL_SECONDS while there are any, and ends a read whose connection was cancelled by
    moving its limit to now. (It holds no reference to its loop: the registry below is keyed by loops
    weakly.)"""

    def __init__(self) -> None:
        self.reads: dict[asyncio.Timeout, AsyncConnection] = {}
        self.task: asyncio.Task[None] | None = None

    def add(self, limit: asyncio.Timeout, conn: AsyncConnection) -> None:
        self.reads[limit] = conn
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._watch(), name="pymongo-read-cancellations")

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.reads:
                await asyncio.sleep(POLL_SECONDS)
                for limit, conn in list(self.reads.items()):
                    if conn.cancel_context.cancelled and not limit.expired():
                        limit.reschedule(loop.time())
        finally:
            self.task = None


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _ReadWatch] = weakref.WeakKeyDictionary()


def _watch_of(loop: asyncio.AbstractEventLoop) -> _ReadWatch:
    watch = _watches.get(loop)
    if watch is None:
        watch = _watches[loop] = _ReadWatch()
    return watch


async def receive(conn: AsyncConnection, request_id: int | None,
                  max_message_size: int = MAX_MESSAGE_SIZE) -> _OpReply | _OpMsg:
    """PyMongo's `async_receive_message`: one reply, within the operation's deadline (or the socket
    timeout), ended early when the connection is cancelled."""
    timeout: float | None = conn.conn.gettimeout
    if _csot.get_timeout():
        deadline: float | None = _csot.get_deadline()
    else:
        deadline = time.monotonic() + timeout if timeout else None
    if deadline:
        timeout = max(deadline - time.monotonic(), 0)
    protocol: PyMongoProtocol = conn.conn.get_conn
    watch = _watch_of(asyncio.get_running_loop())
    limit = asyncio.timeout(timeout)
    try:
        async with limit:
            watch.add(limit, conn)
            data, op_code = await protocol.read(request_id, max_message_size)
    except TimeoutError:
        if conn.cancel_context.cancelled:
            raise _OperationCancelled("operation cancelled") from None
        raise TimeoutError("timed out") from None  # socket.timeout, which PyMongo turns into NetworkTimeout
    finally:
        watch.reads.pop(limit, None)
    unpack: Any = _UNPACK_REPLY[op_code]
    reply: _OpReply | _OpMsg = unpack(data)
    return reply


def applies() -> bool:
    """Whether this module fits the PyMongo installed (the version it was written against)."""
    return bool(pymongo.version == PYMONGO_VERSION)


def use(lean: bool) -> bool:
    """Route PyMongo's asyncio sends and receives through this module (`lean`) or PyMongo's own
    functions. Returns whether the lean ones are in use."""
    if lean and not applies():
        log.warning("PyMongo %s is not the version servicekit.mongo_wire was written against (%s): its own "
                    "network calls are used", pymongo.version, PYMONGO_VERSION)
        lean = False
    chosen = {"async_sendall": send, "async_receive_message": receive} if lean else _PUBLISHED
    for module in _CALLERS:
        for name, function in chosen.items():
            setattr(module, name, function)
    return lean


def in_use() -> bool:
    return all(module.async_receive_message is receive for module in _CALLERS)
