"""Every Kafka read and write the stack tests make, against the real broker.

Writes go out as the outbox relay sends them: an idempotent producer with `acks=all`, CloudEvents
structured mode (the content-type header), key = the aggregate id. Records to one partition keep the
order they are given in.

Reads never last "N seconds": they take each partition's end offset first and read from the start
up to it, so they return exactly what was published before the call, however slow the machine. A
test that must wait for something to appear polls a read with `wait_for_events` (which fails on
timeout). A test that asserts something did NOT happen first waits for a positive signal that it
would have happened by now: `wait_until_consumed` waits until a consumer group has committed offsets
up to the end of a topic, i.e. it has processed (and applied) everything published so far.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from devstack.layout import Profile
from servicekit.events.envelope import CloudEvent, MalformedEvent, record_headers

from tests.support.stack import eventually

T = TypeVar("T")

# A read or wait that has not finished by then is a failure, not a shorter answer.
READ_TIMEOUT_SECONDS = 30.0


async def publish_records(profile: Profile, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> None:
    """Publish raw (key, value) records, in order, and return once the broker has acknowledged them all.
    Raw values let a test publish what no service would (a poison record)."""
    producer = AIOKafkaProducer(bootstrap_servers=profile.kafka_bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=5)
    await producer.start()
    try:
        # send() queues in order per partition; waiting for the acks together keeps bulk sends fast.
        acks = [await producer.send(topic, value=value, key=key, headers=record_headers()) for key, value in records]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def publish_events(profile: Profile, topic: str, events: Iterable[CloudEvent]) -> None:
    """Publish CloudEvents keyed by their subject (the aggregate id), as a service's relay would."""
    await publish_records(profile, topic, [(event.subject.encode(), event.to_record_value()) for event in events])


async def partitions(profile: Profile, topic: str) -> list[int]:
    """The partition ids of `topic`; empty if it does not exist (asking does not create it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=profile.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(int(p["partition"]) for d in described if d["topic"] == topic and d["error_code"] == 0
                  for p in d["partitions"])


async def end_offsets(profile: Profile, topic: str) -> dict[int, int]:
    """The offset the next record of each partition of `topic` will get; empty if the topic does not exist."""
    consumer = AIOKafkaConsumer(bootstrap_servers=profile.kafka_bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        return await _end_offsets(profile, consumer, topic)
    finally:
        await consumer.stop()


async def _end_offsets(profile: Profile, consumer: AIOKafkaConsumer, topic: str) -> dict[int, int]:
    ends = await consumer.end_offsets([TopicPartition(topic, p) for p in await partitions(profile, topic)])
    return {tp.partition: int(offset) for tp, offset in ends.items()}


async def read_records(profile: Profile, topic: str) -> list[ConsumerRecord]:
    """Every record on `topic` published before this call, partition by partition in offset order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=profile.kafka_bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        ends = await _end_offsets(profile, consumer, topic)
        partitions = [TopicPartition(topic, p) for p in ends]
        found: list[ConsumerRecord] = []
        if not partitions:
            return found
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                while [tp for tp in partitions if await consumer.position(tp) < ends[tp.partition]]:
                    batch = await consumer.getmany(timeout_ms=500)
                    for tp, records in batch.items():
                        found.extend(r for r in records if r.offset < ends[tp.partition])
        except TimeoutError:
            raise AssertionError(f"reading {topic} up to offsets {ends} took over {READ_TIMEOUT_SECONDS}s") from None
        return found
    finally:
        await consumer.stop()


async def read_events(profile: Profile, topic: str, key: str | None = None) -> list[CloudEvent]:
    """The CloudEvents on `topic` published before this call (only those keyed `key`, when given).

    Records that are not CloudEvents are left out: some tests put poison records on the services'
    topics on purpose. A test about such records reads them with read_records.
    """
    events = []
    for record in await read_records(profile, topic):
        if key is not None and record.key != key.encode():
            continue
        try:
            events.append(CloudEvent.from_record_value(record.value))
        except MalformedEvent:
            continue
    return events


def events_on(profile: Profile, topic: str, key: str | None = None) -> list[CloudEvent]:
    """read_events for tests that are not coroutines."""
    return asyncio.run(read_events(profile, topic, key))


def wait_for_events(profile: Profile, topic: str, wanted: Callable[[list[CloudEvent]], T | None],
                    *, key: str | None = None, timeout: float = READ_TIMEOUT_SECONDS,
                    what: str = "the events") -> T:
    """Read `topic` again and again until `wanted(events)` returns something truthy; return it. Fails
    with `what` once `timeout` has passed."""
    return eventually(lambda: wanted(events_on(profile, topic, key)), timeout=timeout, interval=0.3, what=what)


async def committed_offsets(profile: Profile, group: str, topic: str) -> dict[int, int]:
    """The offsets `group` has committed on `topic`'s partitions (the next offset it will process)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=profile.kafka_bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: int(meta.offset) for tp, meta in committed.items() if tp.topic == topic}


async def wait_until_consumed(profile: Profile, group: str, topic: str,
                              within: float = READ_TIMEOUT_SECONDS * 4) -> dict[int, int]:
    """Wait until `group` has committed, on every partition of `topic`, an offset at or past the end the
    partition has now; returns those ends.

    The kit's workers commit an offset only after the record's handler has finished, so from then on
    every effect of every record published before this call is in the store: a test can assert that
    something did not happen. A partition the group never committed counts as offset 0 (it is caught
    up only if it is empty).
    """
    ends = await end_offsets(profile, topic)
    assert ends, f"topic {topic} does not exist"
    deadline = time.monotonic() + within
    while True:
        committed = await committed_offsets(profile, group, topic)
        behind = {p: (committed.get(p, 0), end) for p, end in ends.items() if committed.get(p, 0) < end}
        if not behind:
            return ends
        if time.monotonic() > deadline:
            raise AssertionError(f"group {group} did not consume {topic} up to {ends} in {within}s; "
                                 f"behind (committed, end): {behind}")
        await asyncio.sleep(0.2)


def consumed(profile: Profile, group: str, topic: str, within: float = READ_TIMEOUT_SECONDS * 4) -> dict[int, int]:
    """wait_until_consumed for tests that are not coroutines."""
    return asyncio.run(wait_until_consumed(profile, group, topic, within))
