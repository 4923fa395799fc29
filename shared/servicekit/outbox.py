"""The single-document outbox and its relay.

A state change and the events it causes are written in one single-document update: the events sit in
the aggregate's own document under `outbox.<event id>`. The relay publishes them with an idempotent
producer (acks=all) and only then removes exactly those keys with `$unset`. A crash anywhere loses
nothing (the events are still in the document); a repeat publish is harmless because every consumer
is idempotent; and removing named keys can never remove an event another writer added meanwhile, so
the clearing update needs no guard. It filters on `_id` alone on purpose: FerretDB 1.x only uses an
index for a filter that is exactly `{_id: value}` and scans the collection for anything else.

The relay lives in the API process: each write wakes it for that document at once (low latency),
and a periodic sweep, plus one at start-up, picks up whatever a crashed process left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pymongo
from aiokafka import AIOKafkaProducer

from servicekit.events.envelope import CloudEvent, record_headers
from servicekit.metrics import KitMetrics
from servicekit.mongo import STORE_UNAVAILABLE, Database, DocumentLocks
from servicekit.settings import ServiceSettings
from servicekit.store_audit import set_origin

log = logging.getLogger(__name__)

OUTBOX = "outbox"


def outbox_update(events: Sequence[CloudEvent]) -> dict[str, dict[str, Any]]:
    """Update operators that add `events` to a document's outbox; merge them into the state change."""
    base = time.time_ns()
    return {
        "$set": {
            f"{OUTBOX}.{event.id}": {"pos": f"{base:020d}-{i:04d}", "event": event.model_dump(mode="json")}
            for i, event in enumerate(events)
        },
    }


def merge_updates(*updates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for update in updates:
        for operator, fields in update.items():
            merged.setdefault(operator, {}).update(fields)
    return merged


def initial_outbox_fields(events: Sequence[CloudEvent]) -> dict[str, Any]:
    """Outbox fields for a document being inserted with its first events."""
    update = outbox_update(events)
    return {OUTBOX: {k.split(".", 1)[1]: v for k, v in update["$set"].items()}}


class EventProducer:
    """The one Kafka producer of a process: idempotent, acks=all, set explicitly (aiokafka's defaults
    are acks=1 without idempotence)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=f"{settings.service_name}-producer",
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
            request_timeout_ms=settings.kafka_request_timeout_ms,
            retry_backoff_ms=200,
        )
        self._started = False

    async def start(self) -> None:
        await self._producer.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._producer.stop()
            self._started = False

    async def send(self, topic: str, key: bytes | None, value: bytes,
                   headers: Iterable[tuple[str, bytes]] = ()) -> None:
        await self._producer.send_and_wait(topic, value=value, key=key, headers=list(headers))

    async def publish(self, topic: str, event: CloudEvent) -> None:
        await self.send(topic, event.subject.encode(), event.to_record_value(), record_headers())


@dataclass
class OutboxRelay:
    settings: ServiceSettings
    db: Database
    producer: EventProducer
    metrics: KitMetrics
    locks: DocumentLocks
    topic: str
    collections: Sequence[str]
    _wake: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _in_flight: set[tuple[str, Any]] = field(default_factory=set)

    def notify(self, collection: str, doc_id: Any) -> None:
        """Called after a write that added events: publish them now rather than at the next sweep."""
        if self.settings.outbox_relay_notify:
            self._wake.put_nowait((collection, doc_id))

    async def start(self) -> None:
        global _PROCESS_RELAY
        _PROCESS_RELAY = self
        self._tasks = [asyncio.create_task(self._notified_loop(), name="outbox-notified"),
                       asyncio.create_task(self._sweep_loop(), name="outbox-sweep")]

    async def stop(self) -> None:
        global _PROCESS_RELAY
        if _PROCESS_RELAY is self:
            _PROCESS_RELAY = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _notified_loop(self) -> None:
        set_origin("outbox relay")
        retry_delays: dict[tuple[str, Any], float] = {}
        while True:
            collection, doc_id = await self._wake.get()
            key = (collection, doc_id)
            try:
                await self.publish_document(collection, doc_id)
                retry_delays.pop(key, None)
            except Exception:
                # Kafka or the store is down: try this document again later, backing off; if the
                # process dies meanwhile, the start-up sweep finds the events still in the document.
                delay = min(retry_delays.get(key, 0.25) * 2, 10.0)
                retry_delays[key] = delay
                log.warning("outbox publish failed; retrying in %.1fs", delay, exc_info=True)
                asyncio.get_running_loop().call_later(delay, self._wake.put_nowait, key)

    async def _sweep_loop(self) -> None:
        set_origin("outbox sweep")
        while True:
            try:
                await self.sweep()
            except Exception:
                log.warning("outbox sweep failed; retrying", exc_info=True)
            await asyncio.sleep(self.settings.outbox_sweep_seconds)

    async def sweep(self) -> int:
        """Publish every pending event in the outbox collections; update the backlog metrics."""
        published = 0
        backlog = 0
        oldest: datetime | None = None
        for name in self.collections:
            with pymongo.timeout(self.settings.outbox_sweep_timeout_seconds):
                pending = [doc async for doc in self.db[name].find({OUTBOX: {"$nin": [None, {}]}}, {OUTBOX: 1})]
            for doc in pending:
                entries = doc.get(OUTBOX) or {}
                backlog += len(entries)
                for entry in entries.values():
                    written = datetime.fromtimestamp(int(str(entry["pos"]).split("-")[0]) / 1e9, UTC)
                    if oldest is None or written < oldest:
                        oldest = written
                if entries:
                    published += await self.publish_document(name, doc["_id"])
        self.metrics.outbox_backlog.set(max(backlog - published, 0))
        oldest_age = (datetime.now(UTC) - oldest).total_seconds() if oldest and backlog > published else 0.0
        self.metrics.outbox_oldest_age.set(oldest_age)
        return published

    async def publish_document(self, collection: str, doc_id: Any) -> int:
        key = (collection, doc_id)
        if key in self._in_flight:
            return 0  # the other loop has it
        self._in_flight.add(key)
        try:
            return await self._publish_document(collection, doc_id)
        finally:
            self._in_flight.discard(key)

    async def _publish_document(self, collection: str, doc_id: Any) -> int:
        col = self.db[collection]
        doc = await col.find_one({"_id": doc_id}, {OUTBOX: 1})
        entries = sorted((doc or {}).get(OUTBOX, {}).values(), key=lambda e: str(e["pos"]))
        if not entries:
            return 0
        events = [CloudEvent.model_validate(e["event"]) for e in entries]
        for event in events:
            await self.producer.publish(self.topic, event)
            self.metrics.events_published.labels(event.type).inc()
        # Clear what was published, and only that: events added meanwhile stay for the next round.
        async with self.locks.hold(collection, doc_id):
            await col.update_one({"_id": doc_id}, {"$unset": {f"{OUTBOX}.{e.id}": "" for e in events}})
        return len(events)


# The relay this process runs, if any (one per process: the API's, or the worker's for what its
# handlers write).
_PROCESS_RELAY: OutboxRelay | None = None


def announce_written(collection: str, doc_id: Any) -> None:
    """Tell this process's relay that a write put events in `doc_id`'s outbox, so they go out now, not
    at the next sweep. For code with no ServiceContext at hand, such as event handlers (which get only
    the database). A collection this process does not relay is left to its owner's sweep."""
    relay = _PROCESS_RELAY
    if relay is not None and collection in relay.collections:
        relay.notify(collection, doc_id)


def is_store_outage(exc: BaseException) -> bool:
    return isinstance(exc, STORE_UNAVAILABLE)
