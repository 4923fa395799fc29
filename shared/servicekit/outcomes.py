"""Telling the truth when the store does not answer in time.

Every HTTP request gets one store budget (`request_store_budget_seconds`, through `pymongo.timeout`):
each command it sends carries the time left as `maxTimeMS`, which FerretDB 1.24 and MongoDB use to
stop a find, aggregate or findAndModify nobody waits for any more, and the client gives up at the same
moment. When a store call fails or times out, what the API may say depends on what was already sent:

- no write command had gone out: nothing was changed (503 `store-unavailable`, retry freely);
- a write had gone out: it may have landed. The answer is 503 `outcome-unknown`, which says so and
  how to retry safely: a POST with the same Idempotency-Key returns what the first attempt created (or
  creates it once); a change with the same If-Match and body is recognised as already applied when it
  landed (servicekit.aggregates records the last change's request on the document), so the retry
  answers 200 with the result instead of a spurious 412.

A PyMongo command listener, installed on every client, counts the write commands each request sends
(a contextvar per request, set by `StoreBudgetMiddleware`).
"""

from __future__ import annotations

import hashlib
import time
from contextvars import ContextVar
from dataclasses import dataclass

import pymongo
from pymongo import monitoring
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WRITE_COMMANDS = frozenset({"insert", "update", "delete", "findAndModify", "bulkWrite"})


@dataclass
class RequestStoreState:
    """What one HTTP request has done to the store so far."""

    writes_sent: int = 0
    # A digest of the request (method, path, If-Match, body), so a retried change can be recognised.
    digest: str | None = None
    # When its store budget runs out (time.monotonic()).
    deadline: float | None = None


_current: ContextVar[RequestStoreState | None] = ContextVar("request_store_state", default=None)


def current_digest() -> str | None:
    state = _current.get()
    return state.digest if state is not None else None


def may_have_written() -> bool:
    """Whether the current request sent a write command (so a failure now leaves the outcome unknown)."""
    state = _current.get()
    return state is not None and state.writes_sent > 0


def time_left() -> float | None:
    """Seconds left of the current request's store budget (None outside a request). A use case that
    writes several documents can check it before its first write and refuse while nothing is changed
    yet, rather than start what the budget will likely cut short, leaving an unknown outcome."""
    state = _current.get()
    if state is None or state.deadline is None:
        return None
    return state.deadline - time.monotonic()


class WriteCounter(monitoring.CommandListener):
    """Counts the write commands of the current request (none outside a request)."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in WRITE_COMMANDS:
            state = _current.get()
            if state is not None:
                state.writes_sent += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class StoreBudgetMiddleware:
    """Gives each HTTP request its store budget and its write count; for a change that carries If-Match,
    a digest of the request (so servicekit.aggregates can recognise a retry of a change that landed)."""

    def __init__(self, app: ASGIApp, budget_seconds: float) -> None:
        self.app = app
        self.budget_seconds = budget_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = RequestStoreState(deadline=time.monotonic() + self.budget_seconds)
        if_match = dict(scope["headers"]).get(b"if-match")
        hasher = hashlib.sha256(f"{scope['method']} {scope['path']} {if_match!r}".encode()) if if_match else None
        if hasher is not None:
            state.digest = hasher.hexdigest()  # a request without a body is never read; this is its digest

        async def hashing_receive() -> Message:
            message = await receive()
            if hasher is not None and message["type"] == "http.request":
                hasher.update(message.get("body", b""))
                state.digest = hasher.hexdigest()
            return message

        token = _current.set(state)
        try:
            with pymongo.timeout(self.budget_seconds):
                await self.app(scope, hashing_receive, send)
        finally:
            _current.reset(token)
