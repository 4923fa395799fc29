"""The single-document outbox and its relay.

A state change and the events it causes are written in one single-document update: the events sit in
the aggregate's own document under `outbox.<event id>`. The relay publishes them with an idempotent
producer (acks=all) and only then removes exactly those keys with `$unset`. A crash anywhere loses
nothing (the events are still in the document); a repeat publish is harmless because every consumer
is idempotent; and removing named keys can never remove an event another writer added meanwhile, so
the clearing update needs no guard. It filters on `_id` alone on purpose: FerretDB 1.x only uses an
index for a filter that is exactly `{_id: value}` and scans the collection for anything else.

The relay lives in the API process: each write wakes it for that document at once (low latency),
and a periodic sweep, plus one at start-up, picks up whatever a crashed process left behind. It works
in batches: it takes every document woken so far, reads each by `_id`, hands all their events to the
producer without waiting for each (many in flight), waits for Kafka's acknowledgements together, and
then clears each document's published keys. A document is never in two batches at once, so its events
keep their order. The backlog gauges come from what the relay knows as it goes (`OutboxBacklog`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pymongo
from aiokafka import AIOKafkaProducer
from pymongo import ReturnDocument

from servicekit.events.envelope import CloudEvent, record_headers
from servicekit.metrics import KitMetrics
from servicekit.mongo import STORE_UNAVAILABLE, Database, Document, DocumentLocks
from servicekit.relay_batching import Key, OutboxBacklog, take_batch
from servicekit.settings import ServiceSettings
from servicekit.store_audit import set_origin

log = logging.getLogger(__name__)

OUTBOX = "outbox"
# One marker per document whose outbox holds events ({_id: "<collection>/<doc id>", collection, doc_id}),
# written before the write that queues them (servicekit.aggregates) and dropped once the outbox is
# empty. The sweep reads these instead of scanning the aggregates: on FerretDB the old sweep's filter
# read every document of every outbox collection (some 17 s of its CPU every 30 s at 100,000 listings).
PENDING_MARKERS = "outbox_pending"


def pending_marker_id(collection: str, doc_id: Any) -> str:
    return f"{collection}/{doc_id}"


async def mark_pending(db: Database, collection: str, doc_id: Any) -> None:
    """Note that `doc_id`'s outbox is about to hold events (before the write that queues them: a crash
    in between leaves a marker the sweep drops, never events nobody looks for)."""
    await db[PENDING_MARKERS].update_one({"_id": pending_marker_id(collection, doc_id)},
                                         {"$set": {"collection": collection, "doc_id": doc_id}}, upsert=True)


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
    are acks=1 without idempotence).

    Batching: aiokafka keeps one produce request in flight per broker and per partition one batch
    being filled, so whatever is sent while a request is out travels together in the next one.
    `linger_ms=5` adds at most 5 ms to a lone event (the propagation goal is p50 < 100 ms) and lets
    a burst that arrives over a few milliseconds share one request. `max_batch_size` of 256 KiB per
    partition (aiokafka's default is 16 KiB, some 20 of our events) lets one request carry a relay
    batch of a few hundred events per partition; it stays well under the broker's 1 MiB
    `message.max.bytes`. Per-key order holds: one partition per key, one batch per partition in
    flight, and the idempotent producer's sequence numbers stop a retried batch from landing twice
    or out of order."""

    LINGER_MS = 5
    MAX_BATCH_BYTES = 256 * 1024

    def __init__(self, settings: ServiceSettings) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=f"{settings.service_name}-producer",
            acks="all",
            enable_idempotence=True,
            linger_ms=self.LINGER_MS,
            max_batch_size=self.MAX_BATCH_BYTES,
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

    async def enqueue(self, topic: str, event: CloudEvent) -> asyncio.Future[Any]:
        """Hand `event` to the producer and return at once with a future of Kafka's acknowledgement,
        so many events can be in flight. Waits only while the partition's batch is full or the topic's
        partitions are not known yet."""
        future: asyncio.Future[Any] = await self._producer.send(
            topic, value=event.to_record_value(), key=event.subject.encode(), headers=record_headers())
        return future


@dataclass
class _Outcome:
    """What became of one document in one relay batch."""

    events: list[CloudEvent] = field(default_factory=list)
    acks: list[asyncio.Future[Any]] = field(default_factory=list)
    failed: bool = False


@dataclass
class OutboxRelay:
    settings: ServiceSettings
    db: Database
    producer: EventProducer
    metrics: KitMetrics
    locks: DocumentLocks
    topic: str
    collections: Sequence[str]
    backlog: OutboxBacklog = field(default_factory=OutboxBacklog)
    _wake: asyncio.Queue[Key] = field(default_factory=asyncio.Queue)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _batches: set[asyncio.Task[None]] = field(default_factory=set)
    # Documents a running batch holds, and those woken meanwhile (read again once it ends).
    _in_flight: set[Key] = field(default_factory=set)
    _woken_in_flight: set[Key] = field(default_factory=set)
    _retry_delays: dict[Key, float] = field(default_factory=dict)
    _store_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(OutboxRelay.STORE_CALLS))

    # Up to this many documents per batch: enough to put many events in each produce request. A batch
    # takes what is already woken, so at low rates it is one document and adds no delay; a full one
    # costs the store some 0.2-0.6 s here (one read and one clearing write by `_id` per document,
    # FerretDB's ~1,000 reads/s and ~500 updates/s); each document's events leave once it is read.
    BATCH_DOCUMENTS = 200
    # Batches running at once: while one waits for Kafka's acknowledgements or clears its documents,
    # the next is already reading and sending, so the store and the broker are both kept busy.
    BATCHES_IN_FLIGHT = 4
    # Store calls (reads, clearing writes) the relay makes at once. FerretDB with SQLite answered
    # about 1,000 `_id` reads/s and 500 `_id` updates/s here whether 8 or 32 ran at once, and fewer
    # at 200 (contention); more would only take connections from the API's own requests.
    STORE_CALLS = 16

    def __post_init__(self) -> None:
        # Read at scrape time from the backlog the relay keeps as it goes, so the gauges are true at
        # every moment (the oldest event's age grows between changes too).
        self.metrics.outbox_backlog.set_function(lambda: float(self.backlog.total()))
        self.metrics.outbox_oldest_age.set_function(self.backlog.oldest_age)

    def notify(self, collection: str, doc_id: Any, events: int = 1, written_at: float | None = None) -> None:
        """Called after a write that added `events` events (written at `written_at`, Unix seconds,
        default now) to `doc_id`'s outbox: count them in the backlog and publish them now rather than
        at the next sweep."""
        key = (collection, doc_id)
        self.backlog.added(key, events, time.time() if written_at is None else written_at)
        if self.settings.outbox_relay_notify:
            self._wake.put_nowait(key)

    async def start(self) -> None:
        global _PROCESS_RELAY
        _PROCESS_RELAY = self
        self._tasks = [asyncio.create_task(self._notified_loop(), name="outbox-notified"),
                       asyncio.create_task(self._sweep_loop(), name="outbox-sweep")]

    async def stop(self) -> None:
        global _PROCESS_RELAY
        if _PROCESS_RELAY is self:
            _PROCESS_RELAY = None
        tasks = [*self._tasks, *self._batches]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _notified_loop(self) -> None:
        set_origin("outbox relay")
        slots = asyncio.Semaphore(self.BATCHES_IN_FLIGHT)
        while True:
            first = await self._wake.get()
            # Wait for a free slot before collecting: wake-ups that arrive meanwhile join this batch.
            await slots.acquire()
            batch, deferred = take_batch(first, self._wake, self._in_flight, self.BATCH_DOCUMENTS)
            self._woken_in_flight |= deferred
            if not batch:
                slots.release()
                continue
            self._in_flight.update(batch)
            task = asyncio.create_task(self._run_batch(batch), name="outbox-batch")
            self._batches.add(task)

            def done(finished: asyncio.Task[None], batch: list[Key] = batch) -> None:
                self._batches.discard(finished)
                self._in_flight.difference_update(batch)
                for key in batch:
                    if key in self._woken_in_flight:
                        self._woken_in_flight.discard(key)
                        self._wake.put_nowait(key)
                slots.release()

            task.add_done_callback(done)

    async def _run_batch(self, batch: list[Key]) -> None:
        try:
            outcomes = await self._relay_documents(batch)
        except Exception:
            log.warning("outbox batch failed", exc_info=True)
            outcomes = {key: _Outcome(failed=True) for key in batch}
        for key, outcome in outcomes.items():
            if not outcome.failed:
                self._retry_delays.pop(key, None)
                continue
            # Kafka or the store is down: try this document again later, backing off; if the process
            # dies meanwhile, the start-up sweep finds the events still in the document.
            delay = min(self._retry_delays.get(key, 0.25) * 2, 10.0)
            self._retry_delays[key] = delay
            asyncio.get_running_loop().call_later(delay, self._wake.put_nowait, key)
        failed = sum(1 for o in outcomes.values() if o.failed)
        if failed:
            log.warning("outbox: %d of %d documents not published; retrying with backoff", failed, len(batch))

    async def _relay_documents(self, batch: Sequence[Key]) -> dict[Key, _Outcome]:
        """Publish every event the documents hold, in one go: read each by `_id` and hand its events to
        the producer as soon as it is read, wait for all acknowledgements, then clear from each document
        what it had published. A document with any failure keeps all its events for a later try."""
        mark = self.backlog.mark()
        handed = await asyncio.gather(*(self._hand_over(key, mark) for key in batch))
        outcomes = dict(zip(batch, handed, strict=True))
        acks = await asyncio.gather(*(asyncio.gather(*o.acks, return_exceptions=True) for o in handed))
        for outcome, results in zip(handed, acks, strict=True):
            if any(isinstance(r, BaseException) for r in results):
                outcome.failed = True
        to_clear = [(key, o) for key, o in outcomes.items() if o.events and not o.failed]
        cleared = await asyncio.gather(*(self._clear(key, o.events) for key, o in to_clear), return_exceptions=True)
        for (key, outcome), result in zip(to_clear, cleared, strict=True):
            for event in outcome.events:
                # Counted once Kafka acknowledged it, even if clearing it failed (then it goes again).
                self.metrics.events_published.labels(event.type).inc()
            if isinstance(result, BaseException):
                log.warning("outbox: published the events of %s but could not clear them", key, exc_info=result)
                outcome.failed = True
            else:
                self.backlog.published(key, len(outcome.events))
        return outcomes

    async def _hand_over(self, key: Key, mark: int) -> _Outcome:
        """Read one document and give its events to the producer; its outcome, acknowledgements pending."""
        outcome = _Outcome()
        try:
            doc = await self._read(key)
            entries = sorted((doc or {}).get(OUTBOX, {}).values(), key=lambda e: str(e["pos"]))
            self.backlog.observed(key, len(entries), _written_at(entries[0]) if entries else None, mark)
            outcome.events = [CloudEvent.model_validate(e["event"]) for e in entries]
            # In `pos` order, one after the other: the producer keeps that order on the partition.
            for event in outcome.events:
                outcome.acks.append(await self.producer.enqueue(self.topic, event))
        except Exception:
            log.warning("outbox: could not read or hand over the events of %s", key, exc_info=True)
            outcome.failed = True
        return outcome

    async def _read(self, key: Key) -> Document | None:
        async with self._store_slots:
            doc: Document | None = await self.db[key[0]].find_one({"_id": key[1]}, {OUTBOX: 1})
        return doc

    async def _clear(self, key: Key, events: Sequence[CloudEvent]) -> None:
        async with self._store_slots:
            await self._publish_document(key[0], key[1], events)

    async def _publish_document(self, collection: str, doc_id: Any, events: Sequence[CloudEvent]) -> None:
        col = self.db[collection]
        # Clear what was published, and only that: events added meanwhile stay for the next round.
        async with self.locks.hold(collection, doc_id):
            # (No projection: FerretDB 1.24's findAndModify does not implement `fields`.)
            after = await col.find_one_and_update({"_id": doc_id},
                                                  {"$unset": {f"{OUTBOX}.{e.id}": "" for e in events}},
                                                  return_document=ReturnDocument.AFTER)
            if not (after or {}).get(OUTBOX):
                # Under the document's lock, which every writer of it holds: no event can have been
                # queued (with its marker) between the clearing and this.
                await self.db[PENDING_MARKERS].delete_one({"_id": pending_marker_id(collection, doc_id)})

    async def _sweep_loop(self) -> None:
        set_origin("outbox sweep")
        while True:
            try:
                await self.sweep()
            except Exception:
                log.warning("outbox sweep failed; retrying", exc_info=True)
            await asyncio.sleep(self.settings.outbox_sweep_seconds)

    async def sweep(self) -> int:
        """Find every document holding events (left by a crashed process, or whose wake-up was off) from
        the pending markers, and queue it for the relay; counts them in the backlog; drops the markers
        of documents whose outbox is empty. Returns how many documents it queued."""
        queued = 0
        with pymongo.timeout(self.settings.outbox_sweep_timeout_seconds):
            # A filter FerretDB answers by scanning, but over the marker collection only: it holds one
            # document per outbox not yet emptied (none when idle), so the cost is the backlog's, not the
            # aggregates'. (Listed in tests/stack/store_scans.py.)
            markers = [m async for m in self.db[PENDING_MARKERS].find({"collection": {"$in": list(self.collections)}})]
        for marker in markers:
            mark = self.backlog.mark()
            key = (str(marker["collection"]), marker["doc_id"])
            doc = await self._read(key)
            entries = list(((doc or {}).get(OUTBOX) or {}).values())
            if not entries:
                async with self.locks.hold(key[0], key[1]):
                    again = await self._read(key)
                    if not (again or {}).get(OUTBOX):
                        await self.db[PENDING_MARKERS].delete_one({"_id": marker["_id"]})
                continue
            self.backlog.observed(key, len(entries), min(_written_at(e) for e in entries), mark)
            self._wake.put_nowait(key)
            queued += 1
        if queued:
            log.info("outbox sweep queued %d documents", queued)
        return queued


def _written_at(entry: dict[str, Any]) -> float:
    """When an outbox entry was written (Unix seconds), from its `pos` (nanoseconds, then a counter)."""
    return int(str(entry["pos"]).split("-")[0]) / 1e9


# The relay this process runs, if any (one per process: the API's, or the worker's for what its
# handlers write).
_PROCESS_RELAY: OutboxRelay | None = None


def announce_written(collection: str, doc_id: Any, events: int = 1) -> None:
    """Tell this process's relay that a write put events in `doc_id`'s outbox, so they go out now, not
    at the next sweep. For code with no ServiceContext at hand, such as event handlers (which get only
    the database). A collection this process does not relay is left to its owner's sweep."""
    relay = _PROCESS_RELAY
    if relay is not None and collection in relay.collections:
        relay.notify(collection, doc_id, events)


def is_store_outage(exc: BaseException) -> bool:
    return isinstance(exc, STORE_UNAVAILABLE)
