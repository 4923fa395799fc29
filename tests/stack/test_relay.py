"""The outbox relay against the real store and Kafka, in this process: what a crash leaves is found by
the sweep, what a ledger names is not sent again, the backlog gauge is true, sent events leave the
documents (by the tidy-up or by the document's next write) and so do their markers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, ClassVar, cast

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from devstack.layout import Profile
from devstack.stack import Stack
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.errors import NetworkTimeout
from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent, EventPayload
from servicekit.metrics import kit_metrics
from servicekit.mongo import PROCESS_LOCKS, Database, Document, learn_store_traits
from servicekit.outbox import (
    PENDING_MARKERS,
    RELAYED_LEDGER,
    EventProducer,
    OutboxRelay,
    mark_pending,
    new_entries,
    pending_marker_id,
)
from servicekit.settings import ServiceSettings

from tests.support.kafka import read_events

pytestmark = pytest.mark.stack


class ThingNamed(EventPayload):
    event_type: ClassVar[str] = "cn.ipo.ln.test.thing.named.v1"
    name: str


def named(subject: str, name: str) -> CloudEvent:
    return CloudEvent.new("/test", subject, ThingNamed(name=name))


@pytest.fixture
async def db(infra: Stack, test_profile: Profile) -> AsyncIterator[Database]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(test_profile.mongo_url, tz_aware=True)
    database = client["kit_relay"]
    await learn_store_traits(database)
    try:
        yield database
    finally:
        await client.close()


@pytest.fixture
def things() -> Aggregate:
    return Aggregate(f"things_{uuid.uuid4().hex[:8]}")


async def new_topic(profile: Profile) -> str:
    topic = f"test.relay.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=profile.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        await admin.close()
    return topic


@asynccontextmanager
async def running_relay(profile: Profile, db: Database, collection: str, topic: str,
                        **settings: Any) -> AsyncIterator[tuple[OutboxRelay, CollectorRegistry]]:
    name = f"relaytest{uuid.uuid4().hex[:8]}"
    registry = CollectorRegistry()
    config = ServiceSettings(service_name=name, kafka_bootstrap=profile.kafka_bootstrap, **settings)
    producer = EventProducer(config)
    await producer.start()
    relay = OutboxRelay(settings=config, db=db, producer=producer, metrics=kit_metrics(name, registry),
                        locks=PROCESS_LOCKS, topic=topic, collections=[collection])
    await relay.start()
    # The start-up sweep reads the markers: a write of the test's meanwhile could be read as a crashed
    # process's document (recovered), whose sent entries the tidy-up removes rather than leaves.
    await asyncio.wait_for(relay.swept.wait(), 20)
    try:
        yield relay, registry
    finally:
        await relay.stop()
        await producer.stop()


async def until(probe: Callable[[], Any], what: str, within: float = 20) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if found := await probe():
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


async def outbox_of(db: Database, collection: str, doc_id: str) -> dict[str, Any]:
    doc = await db[collection].find_one({"_id": doc_id})
    assert doc is not None
    return dict(doc.get("outbox") or {})


async def test_events_left_by_a_dead_process_are_sent_by_the_sweep_and_ledgered_ones_are_not(
        db: Database, things: Aggregate, test_profile: Profile) -> None:
    """Written with no relay running (the process died before sending): the start-up sweep finds them
    through their markers and sends them, each document's in write order; an event a ledger says was
    sent before the crash is not sent again. Then outboxes, markers and ledgers are all emptied."""
    topic = await new_topic(test_profile)
    first = [named("t-1", "a"), named("t-1", "b")]
    await aggregates.create(db, things, {"_id": "t-1", "version": 1}, first[:1])
    async with aggregates.change(db, things, "t-1") as unit:
        await unit.write({"$set": {"name": "b"}}, first[1:])
    sent_before_crash = named("t-2", "already sent")
    await aggregates.create(db, things, {"_id": "t-2", "version": 1}, [sent_before_crash])
    await db[RELAYED_LEDGER].insert_one({"_id": uuid.uuid4().hex, "collection": things.collection,
                                         "sent": [{"doc_id": "t-2", "events": [sent_before_crash.id]}]})
    assert len(await outbox_of(db, things.collection, "t-1")) == 2

    async with running_relay(test_profile, db, things.collection, topic, outbox_sweep_seconds=3600):
        on_topic = await until(lambda: _events(test_profile, topic, 2), "the left events on the topic")
        assert [e.id for e in on_topic if e.subject == "t-1"] == [e.id for e in first]

        async def tidied() -> bool:
            outboxes = [await outbox_of(db, things.collection, i) for i in ("t-1", "t-2")]
            markers = await db[PENDING_MARKERS].count_documents(
                {"_id": {"$in": [pending_marker_id(things.collection, i) for i in ("t-1", "t-2")]}})
            ledgers = await db[RELAYED_LEDGER].count_documents({"collection": things.collection})
            return not any(outboxes) and markers == 0 and ledgers == 0

        await until(tidied, "outboxes, markers and ledgers emptied")
    assert sent_before_crash.id not in {e.id for e in await read_events(test_profile, topic)}


async def _events(profile: Profile, topic: str, at_least: int) -> list[CloudEvent] | None:
    found = await read_events(profile, topic)
    return found if len(found) >= at_least else None


async def test_the_backlog_gauge_reads_what_waits_and_zero_once_sent(
        db: Database, things: Aggregate, test_profile: Profile) -> None:
    """With wake-ups off the relay holds what is written until its sweep: the gauge counts each event
    from its write on, and is 0 once Kafka has acknowledged them all."""
    topic = await new_topic(test_profile)
    async with running_relay(test_profile, db, things.collection, topic, outbox_sweep_seconds=3600,
                             outbox_relay_notify=False) as (relay, registry):
        prefix = relay.settings.service_name

        def gauge(name: str) -> float:
            value = registry.get_sample_value(f"{prefix}_{name}")
            assert value is not None
            return value

        assert gauge("outbox_backlog_events") == 0
        for n in range(3):
            await aggregates.create(db, things, {"_id": f"g-{n}", "version": 1}, [named(f"g-{n}", "x")])
            assert gauge("outbox_backlog_events") == n + 1
        async with aggregates.change(db, things, "g-0") as unit:
            await unit.write({"$set": {"name": "y"}}, [named("g-0", "y"), named("g-0", "z")])
        assert gauge("outbox_backlog_events") == 5
        await asyncio.sleep(0.05)
        assert gauge("outbox_oldest_age_seconds") > 0

        await relay.sweep()
        await until(lambda: _zero(gauge), "the gauge back at 0")
        assert gauge("outbox_oldest_age_seconds") == 0
        assert len(await read_events(test_profile, topic)) == 5


async def _zero(gauge: Callable[[str], float]) -> bool:
    return gauge("outbox_backlog_events") == 0


async def test_the_next_write_drops_what_was_sent(db: Database, things: Aggregate, test_profile: Profile) -> None:
    """Sent entries the tidy-up has not reached yet leave with the document's next write, in that same
    update. The tidy-up then only drops the marker: the sent event stays in the document (rewriting it
    would cost a whole-document update), until a write that inserts a fresh marker replaces the outbox
    with its own events."""
    topic = await new_topic(test_profile)
    async with running_relay(test_profile, db, things.collection, topic, outbox_sweep_seconds=3600) as (relay, _):
        tidy = _hold_tidy_up(relay)
        created = await _created_and_sent(db, things, relay, "w-1")
        assert list(await outbox_of(db, things.collection, "w-1")) == [created.id]

        changed = named("w-1", "b")
        async with aggregates.change(db, things, "w-1") as unit:
            await unit.write({"$set": {"name": "b"}}, [changed])
        assert list(await outbox_of(db, things.collection, "w-1")) == [changed.id]

        relay.tidy = tidy  # type: ignore[method-assign]
        marker_id = pending_marker_id(things.collection, "w-1")

        async def all_out() -> bool:
            return await db[PENDING_MARKERS].find_one({"_id": marker_id}) is None

        await until(all_out, "the marker dropped")
        assert list(await outbox_of(db, things.collection, "w-1")) == [changed.id], "sent, left in place"

        again = named("w-1", "c")
        async with aggregates.change(db, things, "w-1") as unit:
            await unit.write({"$set": {"name": "c"}}, [again])
        assert list(await outbox_of(db, things.collection, "w-1")) == [again.id], "replaced by the fresh write"
        await until(all_out, "the marker dropped again")
    assert [e.id for e in await read_events(test_profile, topic)] == [created.id, changed.id, again.id]


async def test_events_sent_before_a_marker_are_not_sent_again_after_a_crash(
        db: Database, things: Aggregate, test_profile: Profile) -> None:
    """A document keeps its sent events after its marker is dropped. A process that dies after writing a
    new marker (and perhaps the write behind it) leaves them in the document beside a marker: the sweep
    sends only what the marker covers (from its `since` on), and a document holding nothing newer only
    loses its marker."""
    topic = await new_topic(test_profile)
    async with running_relay(test_profile, db, things.collection, topic, outbox_sweep_seconds=3600) as (relay, _):
        sent = {doc_id: await _created_and_sent(db, things, relay, doc_id) for doc_id in ("c-1", "c-2")}
        markers = [pending_marker_id(things.collection, i) for i in sent]

        async def all_out() -> bool:
            return await db[PENDING_MARKERS].count_documents({"_id": {"$in": markers}}) == 0

        await until(all_out, "both markers dropped")
    # No relay runs now: the process that "crashed". c-1: its marker was written, its write was not.
    # c-2: the marker and the write behind it landed, the event was never sent.
    assert await mark_pending(db, things.collection, "c-1", new_entries([named("c-1", "never written")])[0].pos) \
        is False
    unsent = named("c-2", "b")
    async with aggregates.change(db, things, "c-2") as unit:
        await unit.write({"$set": {"name": "b"}}, [unsent])
    assert set(await outbox_of(db, things.collection, "c-2")) == {sent["c-2"].id, unsent.id}

    async with running_relay(test_profile, db, things.collection, topic, outbox_sweep_seconds=3600):
        await until(all_out, "both markers dropped after the restart")
        assert list(await outbox_of(db, things.collection, "c-2")) == [sent["c-2"].id], "what it sent, tidied"
    ids = [e.id for e in await read_events(test_profile, topic)]
    assert sorted(ids) == sorted([sent["c-1"].id, sent["c-2"].id, unsent.id]), "each event exactly once"


async def _sent(relay: OutboxRelay, collection: str, doc_id: str, event_id: str) -> bool:
    return event_id in relay.book.sent.get((collection, doc_id), [])


def _hold_tidy_up(relay: OutboxRelay) -> Callable[[], Coroutine[Any, Any, bool]]:
    """Keep the relay's tidy-up loop from doing anything; returns the real tidy-up, to run by hand."""
    async def no_tidying() -> bool:
        return False

    tidy = relay.tidy
    relay.tidy = no_tidying  # type: ignore[method-assign]
    return tidy


async def _created_and_sent(db: Database, things: Aggregate, relay: OutboxRelay, doc_id: str) -> CloudEvent:
    """Create `doc_id` with one event and wait until Kafka has acknowledged it."""
    created = named(doc_id, "a")
    await aggregates.create(db, things, {"_id": doc_id, "version": 1}, [created])
    await until(lambda: _sent(relay, things.collection, doc_id, created.id), "the create's event sent")
    return created


class _LostAnswers:
    """A database whose aggregate updates reach the store but whose answers are lost (a timeout after
    the write went out): what a store that stalls mid-request does to the seam."""

    def __init__(self, db: Database, collection: str) -> None:
        self._db = db
        self._collection = collection

    def __getitem__(self, name: str) -> Any:
        real = self._db[name]
        if name != self._collection:
            return real

        class Collection:
            def __getattr__(self, attr: str) -> Any:
                return getattr(real, attr)

            async def update_one(self, *args: Any, **kwargs: Any) -> Any:
                await real.update_one(*args, **kwargs)
                raise NetworkTimeout("the answer was lost")

        return Collection()


async def test_a_write_whose_answer_was_lost_is_still_delivered(
        db: Database, things: Aggregate, test_profile: Profile) -> None:
    """The update landed but the seam heard a timeout (the route answers 503 outcome-unknown): no
    wake-up carried its event, so the relay reads the document at once and sends what it finds."""
    topic = await new_topic(test_profile)
    async with running_relay(test_profile, db, things.collection, topic, outbox_sweep_seconds=3600):
        await aggregates.create(db, things, {"_id": "u-1", "version": 1})
        lost = named("u-1", "landed anyway")
        with pytest.raises(NetworkTimeout):
            async with aggregates.change(cast(Database, _LostAnswers(db, things.collection)), things, "u-1") as unit:
                await unit.write({"$set": {"name": "b"}}, [lost])
        on_topic = await until(lambda: _events(test_profile, topic, 1), "the landed event on the topic")
        assert [e.id for e in on_topic] == [lost.id]


async def test_a_write_finding_a_marker_it_did_not_know_of_still_lands_and_is_sent(
        db: Database, things: Aggregate, test_profile: Profile) -> None:
    """The marker is inserted ahead of a write; one already in the store that this process does not
    know of (another process's, written after the start-up sweep) collides, and the write goes on: its
    events are sent and the marker is dropped once they are out (the sent event stays in the document
    until its next write: the marker is what says it is out)."""
    topic = await new_topic(test_profile)
    async with running_relay(test_profile, db, things.collection, topic, outbox_sweep_seconds=3600):
        marker_id = pending_marker_id(things.collection, "m-1")
        await db[PENDING_MARKERS].insert_one({"_id": marker_id, "collection": things.collection, "doc_id": "m-1"})
        created = named("m-1", "a")
        await aggregates.create(db, things, {"_id": "m-1", "version": 1}, [created])
        assert list(await outbox_of(db, things.collection, "m-1")) == [created.id]

        async def all_out() -> bool:
            return await db[PENDING_MARKERS].find_one({"_id": marker_id}) is None

        await until(all_out, "the marker dropped")
    assert [e.id for e in await read_events(test_profile, topic)] == [created.id]


class _SlowReads:
    """A database whose `find` on the named collections yields what it read only after that collection's
    hook ran: a sweep whose view is stale by the time it acts on it."""

    def __init__(self, db: Database, hooks: dict[str, Callable[[], Any]]) -> None:
        self._db = db
        self._hooks = hooks

    def __getitem__(self, name: str) -> Any:
        real = self._db[name]
        if name not in self._hooks:
            return real
        hook = self._hooks[name]

        class Collection:
            def __getattr__(self, attr: str) -> Any:
                return getattr(real, attr)

            def find(self, *args: Any, **kwargs: Any) -> Any:
                async def stale() -> AsyncIterator[Document]:
                    found = [d async for d in real.find(*args, **kwargs)]
                    await hook()
                    for doc in found:
                        yield doc

                return stale()

        return Collection()


async def test_a_marker_dropped_while_a_sweep_reads_is_not_taken_for_standing(
        db: Database, things: Aggregate, test_profile: Profile) -> None:
    """The tidy-up drops a document's marker while a sweep is reading the markers, and the document is
    written again before the sweep goes on: that write must write a marker of its own (the sweep's list
    is stale, the marker is gone), or a crash before its events are sent would leave them unmarked."""
    topic = await new_topic(test_profile)
    async with running_relay(test_profile, db, things.collection, topic, outbox_sweep_seconds=3600) as (relay, _):
        tidy = _hold_tidy_up(relay)
        created = await _created_and_sent(db, things, relay, "s-1")
        marker_id = pending_marker_id(things.collection, "s-1")

        async def tidy_now() -> None:
            while await tidy():
                pass
            assert await db[PENDING_MARKERS].find_one({"_id": marker_id}) is None

        changed = named("s-1", "b")

        async def write_again() -> None:
            async with aggregates.change(db, things, "s-1") as unit:
                await unit.write({"$set": {"name": "b"}}, [changed])

        relay.db = cast(Database, _SlowReads(db, {PENDING_MARKERS: tidy_now, RELAYED_LEDGER: write_again}))
        try:
            await relay.sweep()
        finally:
            relay.db = db
        if await db[things.collection].find_one({"_id": "s-1", "name": "b"}) is None:
            await write_again()  # the sweep had no stranger to read, so no ledger read ran the write
        assert await db[PENDING_MARKERS].find_one({"_id": marker_id}) is not None, "the change's events unmarked"
        await until(lambda: _events(test_profile, topic, 2), "both events on the topic")
    assert [e.id for e in await read_events(test_profile, topic)] == [created.id, changed.id]
