"""The single-document outbox and its relay.

A state change and the events it causes are written in one single-document update: the events sit in
the aggregate's own document under `outbox.<event id>`, and a small pending marker names the document
(written first, in `outbox_pending`). A crash anywhere loses nothing: the events are in the document
and the marker leads the sweep to it. A repeat publish is harmless because every consumer is
idempotent. Every store call here filters on `_id` alone: FerretDB 1.x only uses an index for a
filter that is exactly `{_id: value}` and scans the collection for anything else.

The relay lives in the process that writes the collection and works from memory, not from the store:

- **the wake-up carries the events**: the aggregate seam, still holding the document's lock after its
  write, hands the relay the entries it has just written (`announce_written`); the relay never reads
  a document to learn what a write of this process put there. Store calls per event on the way out:
  none;
- **batches, many in flight**: the relay takes every document woken so far (up to 200), hands their
  events to the producer with `send()` (many in flight) and waits for Kafka's acknowledgements
  together; up to 4 batches at once. A document is never in two batches at once and its events go in
  `pos` order to one partition, so per-key order holds;
- **the marker is the truth, not the outbox**: once every event of a document is acknowledged, its
  marker is deleted (in bulk: up to 32 deletes-by-`_id` as four commands of 8 side by side, a round at
  most every 0.5 s unless 32 documents wait, only for documents no writer holds at that moment). The
  sent events stay in the document: rewriting a whole aggregate document only to drop them was one
  full-document update per event-carrying write (FerretDB re-encodes every field on every update),
  some 6% of the store's CPU per create + publish. A marker carries `since`, the `pos` of the first
  event of the write that inserted it: entries before it were all acknowledged when it was inserted
  (a marker stands while any event of its document is not), so the sweep sends only entries from
  `since` on. The document's next write that inserts a fresh marker replaces the outbox with its own
  events (nothing in it was unsent); a write that finds its marker standing adds its events and drops
  the sent entries the relay knows of, in the same update. Documents whose events the relay learnt
  by reading them (the sweep's strangers, writes of unknown outcome, another process's writes) are
  tidied as before, with `$unset`-by-`_id` statements, so no document gathers events it did not write
  itself. Cost: each document keeps the events of its last write, about a kilobyte;
- **a ledger when the tidy-up is behind**: when more than 32 documents wait for it (a burst, a
  restart's backlog), each batch also records what Kafka acknowledged in ONE ledger document per
  collection (`outbox_relayed`, an insert: the cheapest write FerretDB has), deleted once all it
  names is tidied (its marker deleted, or its entries removed);
- **the sweep** (every 30 s, and at start-up) reads the markers; a marker of a document this process
  knows is skipped, any other document (left by a crashed process, or written by a request whose
  outcome is unknown) is read by `_id`: entries before the marker's `since` are left alone, entries a
  ledger names are only tidied, the others are sent. So an event is sent twice only when a process
  dies after Kafka acknowledged it and before it was tidied or ledgered (at most about 32 documents'
  events and half a second), or when two processes writing one document disagree about the time by
  more than the gap between their writes (`since` and `pos` come from their clocks), never as a
  matter of course;
- **the backlog gauges** are the relay's own count, true at every moment: a write's wake-up adds its
  events, a sweep adds what it finds, Kafka's acknowledgement takes them off (`RelayBook`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pymongo
from aiokafka import AIOKafkaProducer
from pymongo import DeleteOne, UpdateOne
from pymongo.errors import DuplicateKeyError

from servicekit.events.envelope import CloudEvent, record_headers
from servicekit.metrics import KitMetrics
from servicekit.mongo import (
    STORE_UNAVAILABLE,
    WRITE_BATCH,
    Database,
    Document,
    DocumentLocks,
    bulk_write_in_batches,
)
from servicekit.relay_batching import Entry, Key, RelayBook, take_batch
from servicekit.settings import ServiceSettings
from servicekit.store_audit import set_origin

log = logging.getLogger(__name__)

OUTBOX = "outbox"
# One marker per document whose outbox holds events ({_id: "<collection>/<doc id>", collection, doc_id}),
# written before the write that queues them (servicekit.aggregates) and dropped once the outbox is
# empty. The sweep reads these instead of scanning the aggregates: on FerretDB the old sweep's filter
# read every document of every outbox collection (some 17 s of its CPU every 30 s at 100,000 listings).
PENDING_MARKERS = "outbox_pending"
# One document per relay batch and collection naming the events Kafka acknowledged
# ({_id, collection, sent: [{doc_id, events: [event ids]}, ...]}; FerretDB refuses nested arrays), kept
# until those events are tidied out of their documents: after a crash, the sweep sends only what no
# ledger names.
RELAYED_LEDGER = "outbox_relayed"


def pending_marker_id(collection: str, doc_id: Any) -> str:
    return f"{collection}/{doc_id}"


async def mark_pending(db: Database, collection: str, doc_id: Any, since: str) -> bool:
    """Note that `doc_id`'s outbox is about to hold events from `pos` `since` on (before the write that
    queues them, under the document's lock: a crash in between leaves a marker the sweep drops, never
    events nobody looks for). Skipped when this process's relay knows the marker is there (it alone
    deletes it, under the same lock).

    Returns True when this inserted the marker and this process's relay deletes markers: then nothing
    in the document's outbox is unsent (a marker stands while anything is), so the write may replace
    the outbox with its own events instead of adding them."""
    relay = _relay_for(collection)
    marker = {"_id": pending_marker_id(collection, doc_id), "collection": collection, "doc_id": doc_id,
              "since": since}
    if relay is None:
        # No relay here (a process that writes a collection another process relays, or one with its relay
        # off): nothing in this process deletes markers, so the document's is likely there already, and
        # an upsert finds it without the failed insert. A marker already there keeps its `since`. Never
        # "fresh": without the relay's lock, a write of the relay's process may be adding events now.
        fields = {k: v for k, v in marker.items() if k != "_id"}
        await db[PENDING_MARKERS].update_one({"_id": marker["_id"]}, {"$setOnInsert": fields}, upsert=True)
        return False
    if (collection, doc_id) in relay.marked:
        return False
    try:
        # An insert, not an upsert: the marker is usually absent (this process's relay deleted it once
        # the last events were out), and FerretDB answers an insert with half the CPU of an upsert, which
        # first looks the document up (`python -m tests.benchmarks.store_writes` prices both).
        await db[PENDING_MARKERS].insert_one(marker)
    except DuplicateKeyError:
        # A marker is always the same document for a key, so one already there serves. This process did
        # not know of it: another process's, or from before a restart, whose events may still be in the
        # document unsent. The relay reads the document rather than wait for its next sweep (its tidy-up
        # would otherwise drop the marker once this write's events are out, leaving those behind).
        relay.uncertain(collection, doc_id)
        fresh = False
    else:
        fresh = True
    relay.marked.add((collection, doc_id))
    return fresh


def new_entries(events: Sequence[CloudEvent]) -> list[Entry]:
    """Outbox entries for `events`, in order: `pos` is the write time in nanoseconds, then the place."""
    base = time.time_ns()
    return [Entry(event.id, f"{base:020d}-{i:04d}", base / 1e9, event) for i, event in enumerate(events)]


def _stored(entry: Entry) -> dict[str, Any]:
    assert isinstance(entry.event, CloudEvent)
    return {"pos": entry.pos, "event": entry.event.model_dump(mode="json")}


def outbox_update(entries: Sequence[Entry]) -> dict[str, dict[str, Any]]:
    """Update operators that add `entries` to a document's outbox; merge them into the state change."""
    return {"$set": {f"{OUTBOX}.{entry.event_id}": _stored(entry) for entry in entries}}


def outbox_replacement(entries: Sequence[Entry]) -> dict[str, dict[str, Any]]:
    """Update operators that make `entries` the whole of a document's outbox (what was in it is sent:
    see `mark_pending`)."""
    return {"$set": {OUTBOX: {entry.event_id: _stored(entry) for entry in entries}}}


def merge_updates(*updates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for update in updates:
        for operator, fields in update.items():
            merged.setdefault(operator, {}).update(fields)
    return merged


def initial_outbox_fields(entries: Sequence[Entry]) -> dict[str, Any]:
    """Outbox fields for a document being inserted with its first events."""
    return {OUTBOX: {entry.event_id: _stored(entry) for entry in entries}}


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
class OutboxRelay:
    settings: ServiceSettings
    db: Database
    producer: EventProducer
    metrics: KitMetrics
    locks: DocumentLocks
    topic: str
    collections: Sequence[str]
    book: RelayBook = field(default_factory=RelayBook)
    # Documents whose pending marker this process knows is stored (it wrote or read it and has not
    # deleted it): a write to them skips the marker upsert.
    marked: set[Key] = field(default_factory=set)
    # Documents a write of unknown outcome may have given events this process does not know of: read.
    _uncertain: set[Key] = field(default_factory=set)
    _reading: set[Key] = field(default_factory=set)
    _wake: asyncio.Queue[Key] = field(default_factory=asyncio.Queue)
    _tidy_wanted: asyncio.Event = field(default_factory=asyncio.Event)
    _uncertain_wanted: asyncio.Event = field(default_factory=asyncio.Event)
    # Set once a sweep has finished (the start-up sweep first): what must not overlap the reading of
    # markers a crashed process left (a test's first write right after the relay starts) waits on it.
    swept: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _batches: set[asyncio.Task[None]] = field(default_factory=set)
    # Documents a running batch holds, and those woken meanwhile (woken again once it ends).
    _in_flight: set[Key] = field(default_factory=set)
    _woken_in_flight: set[Key] = field(default_factory=set)
    # While a sweep reads the markers: those deleted meanwhile. The sweep's list may still hold them, and
    # it must neither read their documents as strangers' nor take their markers for standing (the next
    # write would skip writing one, and a crash after that write would leave its events unmarked).
    _dropped_during_sweep: set[Key] | None = None
    _retry_delays: dict[Key, float] = field(default_factory=dict)
    # Ledger documents not yet deleted, and the documents each names.
    _ledgers: dict[str, set[Key]] = field(default_factory=dict)
    # Documents whose events the relay learnt by reading them rather than from this process's own write:
    # their sent entries are removed from the document, not left for its next write (which may be
    # another process's, adding to the outbox rather than replacing it).
    _recovered: set[Key] = field(default_factory=set)
    _store_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(OutboxRelay.STORE_CALLS))

    # Up to this many documents per batch: enough to put many events in each produce request. A batch
    # takes what is already woken, so at low rates it is one document and adds no delay.
    BATCH_DOCUMENTS = 200
    # Batches running at once: while one waits for Kafka's acknowledgements, the next is already sending.
    BATCHES_IN_FLIGHT = 4
    # Reads the sweep makes at once. FerretDB with SQLite answered about 1,000 `_id` reads/s here
    # whether 8 or 32 ran at once; more would only take connections from the API's own requests.
    STORE_CALLS = 16
    # Documents per tidy-up: FerretDB 1.24 hangs on an update command of 100 statements
    # (servicekit.mongo.WRITE_BATCH) and the statements of commands in flight hold its connections
    # together, so a tidy-up has at most this many statements out at once. Measured here: 32 `$unset`s
    # in one command ran at about 620/s, the same one by one (16 at once) at about 310/s; FerretDB
    # commits separate commands in parallel, so they go as TIDY_COMMANDS commands side by side.
    TIDY_DOCUMENTS = WRITE_BATCH
    TIDY_COMMANDS = 4
    # Longest a sent event waits for the tidy-up when fewer than TIDY_DOCUMENTS documents wait.
    TIDY_PAUSE = 0.5

    def __post_init__(self) -> None:
        # Read at scrape time from the relay's own count, so the gauges are true at every moment (the
        # oldest event's age grows between changes too).
        self.metrics.outbox_backlog.set_function(lambda: float(self.book.total()))
        self.metrics.outbox_oldest_age.set_function(lambda: self.book.oldest_age(time.time()))

    # -- what writers tell the relay ------------------------------------------------------------------

    def written(self, collection: str, doc_id: Any, entries: Sequence[Entry]) -> None:
        """A write (holding the document's lock) put `entries` in `doc_id`'s outbox: count them and send
        them now, from memory (with wake-ups off, `outbox_relay_notify=false`, at the next sweep)."""
        key = (collection, doc_id)
        self.book.add(key, entries)
        if self.settings.outbox_relay_notify:
            self._wake.put_nowait(key)

    def uncertain(self, collection: str, doc_id: Any) -> None:
        """A write to `doc_id` failed in a way that may have stored it (its outcome is unknown): read the
        document for events this process does not know of, soon and, while that fails, with backoff
        (all such documents together: a store outage makes many at once)."""
        self._uncertain.add((collection, doc_id))
        self._uncertain_wanted.set()

    def marker_dropped(self, key: Key) -> None:
        """The document's marker was deleted (by this process)."""
        self.marked.discard(key)
        if self._dropped_during_sweep is not None:
            self._dropped_during_sweep.add(key)

    def drop_with_write(self, collection: str, doc_id: Any) -> list[str]:
        """Sent events the document's next write may remove in the same update (it holds the lock)."""
        return self.book.clearable((collection, doc_id))

    def dropped_with_write(self, collection: str, doc_id: Any, event_ids: Sequence[str]) -> None:
        self.book.cleared((collection, doc_id), event_ids)
        self._tidy_wanted.set()  # its marker, and perhaps a ledger, can go now

    # -- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        global _PROCESS_RELAY
        _PROCESS_RELAY = self
        self._tasks = [asyncio.create_task(self._notified_loop(), name="outbox-notified"),
                       asyncio.create_task(self._tidy_loop(), name="outbox-tidy"),
                       asyncio.create_task(self._uncertain_loop(), name="outbox-uncertain"),
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

    # -- sending ----------------------------------------------------------------------------------------

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
        taken = {key: self.book.take(key) for key in batch}
        acks: dict[Key, list[asyncio.Future[Any]]] = {}
        failed: set[Key] = set()
        for key, entries in taken.items():
            try:
                # In `pos` order, one after the other: the producer keeps that order on the partition.
                acks[key] = [await self.producer.enqueue(self.topic, e.event) for e in entries]
            except Exception:
                log.warning("outbox: could not hand over the events of %s", key, exc_info=True)
                failed.add(key)
        results = await asyncio.gather(*(asyncio.gather(*a, return_exceptions=True) for a in acks.values()))
        for key, outcome in zip(acks, results, strict=True):
            if any(isinstance(r, BaseException) for r in outcome):
                failed.add(key)
        sent = {key: entries for key, entries in taken.items() if entries and key not in failed}
        if sent and len(self.book.sent) + len(sent) > self.TIDY_DOCUMENTS:
            # The tidy-up is behind (a burst, a restart's backlog): record what was sent, so a crash
            # now does not send it all again. At a steady rate the tidy-up follows within a second
            # and the insert would cost as much as it saves.
            await self._record_sent(sent)
        for key in sent:
            for entry in self.book.acknowledged(key):
                self.metrics.events_published.labels(entry.event.type).inc()
            self._retry_delays.pop(key, None)
        if sent:
            self._tidy_wanted.set()
        for key in failed:
            # Kafka is down or refused: these events wait again (the backlog gauge counts them) and
            # the document is tried again later, backing off.
            self.book.failed(key)
            delay = min(self._retry_delays.get(key, 0.25) * 2, 10.0)
            self._retry_delays[key] = delay
            asyncio.get_running_loop().call_later(delay, self._wake.put_nowait, key)
        if failed:
            log.warning("outbox: %d of %d documents not published; retrying with backoff", len(failed), len(batch))

    async def _record_sent(self, sent: dict[Key, list[Entry]]) -> None:
        """One ledger insert per collection of the batch: after a crash, these are not sent again. If it
        fails, nothing is lost: the events are sent again only should the process die before tidying."""
        by_collection: dict[str, list[Key]] = {}
        for key in sent:
            by_collection.setdefault(key[0], []).append(key)
        for collection, keys in by_collection.items():
            ledger_id = uuid.uuid4().hex
            try:
                await self.db[RELAYED_LEDGER].insert_one({
                    "_id": ledger_id, "collection": collection,
                    "sent": [{"doc_id": key[1], "events": [e.event_id for e in sent[key]]} for key in keys]})
            except Exception:
                log.warning("outbox: could not record %d sent documents in the ledger", len(keys), exc_info=True)
                continue
            self._ledgers[ledger_id] = set(keys)

    # -- tidying ----------------------------------------------------------------------------------------

    async def _tidy_loop(self) -> None:
        set_origin("outbox relay")
        delay = 0.25
        while True:
            if self.book.sent:
                # Documents a writer held at the last round: look again shortly (their write may have
                # dropped the sent entries itself, or not written at all).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._tidy_wanted.wait(), 1.0)
            else:
                await self._tidy_wanted.wait()
            if len(self.book.sent) < self.TIDY_DOCUMENTS:
                # Let a command's worth gather: at a steady rate a round every TIDY_PAUSE carries many
                # documents in each command instead of one (the store call per event this saves).
                await asyncio.sleep(self.TIDY_PAUSE)
            self._tidy_wanted.clear()
            try:
                while await self.tidy():
                    pass
                delay = 0.25
            except Exception:
                log.warning("outbox: tidying failed; retrying in %.1fs", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                self._tidy_wanted.set()

    def _settled(self, key: Key) -> bool:
        """Nothing of the document is unsent, and no read of it for events is due or running."""
        return not self.book.unsent(key) and key not in self._uncertain and key not in self._reading

    async def tidy(self) -> bool:
        """For up to TIDY_DOCUMENTS documents with sent events: delete the markers of those with nothing
        unsent left (one bulk command), their sent entries staying in the document (see the module's
        docstring); remove the sent entries of the others, and of documents the relay learnt of by
        reading them (another). Holds their locks without waiting for any: a document a writer holds is
        left for its write. Returns whether there may be more to do now."""
        candidates = [key for key in self.book.sent if key not in self.book.taken and not self.locks.busy(*key)]
        group = candidates[:self.TIDY_DOCUMENTS]
        if not group:
            return await self._forget_ledgers()
        async with contextlib.AsyncExitStack() as held:
            for key in group:
                # Free, so taking it does not wait (and no writer can start on it until released).
                await held.enter_async_context(self.locks.hold(*key))
            clearing = {key: self.book.clearable(key) for key in group}
            # Their sent entries stay: the marker's deletion below is what says they are out.
            staying = {key for key in group if key not in self._recovered and self._settled(key)}
            by_collection: dict[str, list[UpdateOne]] = {}
            for key, ids in clearing.items():
                if key not in staying:
                    by_collection.setdefault(key[0], []).append(
                        UpdateOne({"_id": key[1]}, {"$unset": {f"{OUTBOX}.{i}": "" for i in ids}}))
            per_command = max(1, self.TIDY_DOCUMENTS // self.TIDY_COMMANDS)
            for collection, ops in by_collection.items():
                await bulk_write_in_batches(self.db[collection], ops, per_command=per_command,
                                            at_once=self.TIDY_COMMANDS)
            # Under each document's lock, which every writer of it holds from its marker to its wake-up:
            # a document with nothing unsent in memory and nothing sent left over has no event behind
            # its marker. (The book forgets them only after the markers are gone, so a sweep meanwhile
            # does not take them for strangers and read them.)
            emptied = [key for key in group
                       if self._settled(key) and set(self.book.clearable(key)) <= set(clearing[key])]
            if emptied:
                await bulk_write_in_batches(self.db[PENDING_MARKERS],
                                            [DeleteOne({"_id": pending_marker_id(*key)}) for key in emptied],
                                            per_command=per_command, at_once=self.TIDY_COMMANDS)
                for key in emptied:
                    self.marker_dropped(key)
            for key, ids in clearing.items():
                if key in staying and key not in emptied:
                    continue  # still in the document and its marker stands: not out yet, try again
                self.book.cleared(key, ids)
                if not self.book.knows(key):
                    self._recovered.discard(key)
        more_ledgers = await self._forget_ledgers()
        return len(candidates) > len(group) or more_ledgers

    def _ledger_open(self, keys: set[Key]) -> bool:
        return any(key in self.book.sent for key in keys)

    async def _forget_ledgers(self) -> bool:
        """Delete (one bulk command) ledgers whose events are all out of their documents; whether more
        such ledgers remain."""
        done = [ledger_id for ledger_id, keys in self._ledgers.items() if not self._ledger_open(keys)]
        if not done:
            return False
        group = done[:self.TIDY_DOCUMENTS]
        await self.db[RELAYED_LEDGER].bulk_write([DeleteOne({"_id": i}) for i in group], ordered=False)
        for ledger_id in group:
            del self._ledgers[ledger_id]
        return len(done) > len(group)

    # -- finding what no wake-up announced ----------------------------------------------------------

    async def _sweep_loop(self) -> None:
        set_origin("outbox sweep")
        while True:
            try:
                await self.sweep()
                self.swept.set()
            except Exception:
                log.warning("outbox sweep failed; retrying", exc_info=True)
            await asyncio.sleep(self.settings.outbox_sweep_seconds)

    async def sweep(self) -> int:
        """Queue every document holding events this process does not know of (left by a crashed
        process, or by a write whose outcome is unknown) from the pending markers, reading each by
        `_id`; wake those whose events wait in memory (with wake-ups off); drop the markers of
        documents whose outbox is empty. Returns how many documents it queued."""
        self._dropped_during_sweep = set()
        try:
            with pymongo.timeout(self.settings.outbox_sweep_timeout_seconds):
                # A filter FerretDB answers by scanning, but over the marker collection only: it holds one
                # document per outbox not yet emptied (none when idle), so the cost is the backlog's, not
                # the aggregates'. (Listed in tests/stack/store_scans.py.)
                wanted = {"collection": {"$in": list(self.collections)}}
                markers = [m async for m in self.db[PENDING_MARKERS].find(wanted)]
        finally:
            dropped, self._dropped_during_sweep = self._dropped_during_sweep, None
        unknown: dict[Key, str] = {}
        queued = 0
        for marker in markers:
            key = (str(marker["collection"]), marker["doc_id"])
            if key in dropped:
                continue  # deleted while the list was read (the tidy-up): not standing, not a stranger's
            self.marked.add(key)
            if key in self._uncertain or not self.book.knows(key):
                unknown[key] = _since(marker)
        for key in list(self.book.pending):
            self._wake.put_nowait(key)
            queued += 1
        if unknown:
            log.info("outbox sweep: reading %d marked documents this process knows nothing of", len(unknown))
            queued += await self._recover(list(unknown), since=unknown)
        if queued:
            log.info("outbox sweep queued %d documents", queued)
        return queued

    async def _uncertain_loop(self) -> None:
        set_origin("outbox relay")
        delay = 0.25
        while True:
            await self._uncertain_wanted.wait()
            self._uncertain_wanted.clear()
            keys = list(self._uncertain)
            # Taken off before the read: a write of unknown outcome that comes meanwhile puts its
            # document back for another read. Until this one ends, the tidy-up keeps their markers.
            self._uncertain.clear()
            self._reading.update(keys)
            try:
                # This process's own writes: what it sent it knows, so no ledger is needed.
                await self._recover(keys, ledgered=False, since=await self._marked_since(keys))
                delay = 0.25
            except Exception:
                self._uncertain.update(keys)
                log.warning("outbox: could not read %d documents written with unknown outcome; retrying in "
                            "%.1fs", len(keys), delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                self._uncertain_wanted.set()
            finally:
                self._reading.difference_update(keys)

    async def _marked_since(self, keys: Sequence[Key]) -> dict[Key, str]:
        """Each document's marker's `since`, read by `_id`; past every `pos` when it has no marker (the
        write ahead of which it is inserted was not made, so nothing of it is unsent)."""
        async def one(key: Key) -> str:
            async with self._store_slots:
                marker = await self.db[PENDING_MARKERS].find_one({"_id": pending_marker_id(*key)})
            return AFTER_EVERY_POS if marker is None else _since(marker)

        return dict(zip(keys, await asyncio.gather(*(one(key) for key in keys)), strict=True))

    async def _recover(self, keys: Sequence[Key], *, since: Mapping[Key, str], ledgered: bool = True) -> int:
        """Read these documents by `_id` and queue the events from their marker's `since` on that no
        ledger names (those it names only wait to be tidied). Returns how many documents had events to
        send."""
        ledgers: list[Document] = []
        if ledgered:
            with pymongo.timeout(self.settings.outbox_sweep_timeout_seconds):
                # Small: one document per relay batch whose events are not yet tidied (none when idle).
                # (Listed in tests/stack/store_scans.py.)
                wanted = {"collection": {"$in": list(self.collections)}}
                ledgers = [d async for d in self.db[RELAYED_LEDGER].find(wanted)]
        recorded: dict[Key, set[str]] = {}
        for ledger in ledgers:
            named = {(str(ledger["collection"]), item["doc_id"]): item["events"] for item in ledger["sent"]}
            for key, ids in named.items():
                recorded.setdefault(key, set()).update(ids)
            self._ledgers.setdefault(str(ledger["_id"]), set(named))
        documents = await asyncio.gather(*(self._read(key) for key in keys))
        queued = 0
        for key, doc in zip(keys, documents, strict=True):
            stored = _entries_since(doc, since[key])
            entries = [Entry(str(i), str(e["pos"]), _written_at(e), CloudEvent.model_validate(e["event"]))
                       for i, e in stored.items() if i not in recorded.get(key, set())]
            if stored:
                self._recovered.add(key)
            self.book.add_sent(key, [i for i in stored if i in recorded.get(key, set())])
            if self.book.add(key, entries):
                self._wake.put_nowait(key)
                queued += 1
            elif not self.book.knows(key):
                # Nothing in it: drop its marker, unless a writer gave it events meanwhile (checked again
                # under the lock every writer holds).
                async with self.locks.hold(*key):
                    again = await self._read(key)
                    if (not _entries_since(again, since[key]) and not self.book.knows(key)
                            and key not in self._uncertain):
                        await self.db[PENDING_MARKERS].delete_one({"_id": pending_marker_id(*key)})
                        self.marker_dropped(key)
        if self.book.sent:
            self._tidy_wanted.set()
        return queued

    async def _read(self, key: Key) -> Document | None:
        async with self._store_slots:
            doc: Document | None = await self.db[key[0]].find_one({"_id": key[1]}, {OUTBOX: 1})
        return doc


# Greater than every `pos` (digits and dashes): the `since` of a document without a marker.
AFTER_EVERY_POS = "~"


def _since(marker: Document) -> str:
    """Where a marker's events start; a marker written before markers carried it covers everything."""
    return str(marker.get("since") or "")


def _entries_since(doc: Document | None, since: str) -> dict[str, Any]:
    """The outbox entries of `doc` from `pos` `since` on (those before were sent before the marker)."""
    stored: dict[str, Any] = (doc or {}).get(OUTBOX) or {}
    return {i: e for i, e in stored.items() if str(e.get("pos", "")) >= since}


def _written_at(entry: dict[str, Any]) -> float:
    """When an outbox entry was written (Unix seconds), from its `pos` (nanoseconds, then a counter)."""
    return int(str(entry["pos"]).split("-")[0]) / 1e9


# The relay this process runs, if any (one per process: the API's, or the worker's for what its
# handlers write).
_PROCESS_RELAY: OutboxRelay | None = None


def _relay_for(collection: str) -> OutboxRelay | None:
    relay = _PROCESS_RELAY
    return relay if relay is not None and collection in relay.collections else None


def announce_written(collection: str, doc_id: Any, entries: Sequence[Entry]) -> None:
    """Hand this process's relay the entries a write (still holding the document's lock) has just put
    in `doc_id`'s outbox, so they go out now, from memory. A collection this process does not relay is
    left to its owner's sweep."""
    relay = _relay_for(collection)
    if relay is not None and entries:
        relay.written(collection, doc_id, entries)


def announce_uncertain(collection: str, doc_id: Any) -> None:
    """A write to `doc_id` that may carry events failed without telling whether it was stored: the
    relay reads the document to find out (its events are sent if it was)."""
    relay = _relay_for(collection)
    if relay is not None:
        relay.uncertain(collection, doc_id)


def relayed_entries(collection: str, doc_id: Any) -> list[str]:
    """Event ids already sent but still in `doc_id`'s outbox: the document's next write (holding its
    lock) removes them in the same update and then calls `relayed_entries_dropped`."""
    relay = _relay_for(collection)
    return relay.drop_with_write(collection, doc_id) if relay is not None else []


def relayed_entries_dropped(collection: str, doc_id: Any, event_ids: Sequence[str]) -> None:
    relay = _relay_for(collection)
    if relay is not None and event_ids:
        relay.dropped_with_write(collection, doc_id, event_ids)


def is_store_outage(exc: BaseException) -> bool:
    return isinstance(exc, STORE_UNAVAILABLE)
