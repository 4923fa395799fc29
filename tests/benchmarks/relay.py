"""Benchmark (not a test): how many events per second one registry API process relays to Kafka.

Runs its own stack on the `bench` profile, then, in the same run:
- platform: a registry API whose relay is held back (no wake-ups, sweep hourly) accepts N
  organisations through the API, so N `organisation.registered` events wait in N outbox documents
  (its backlog gauge must read N). It is stopped and a normal registry API started on the same
  database: its start-up sweep reads the N marked documents by `_id` and hands their events to the
  relay, which publishes them from memory exactly as it does what a write's wake-up hands it (send
  in batches, await acknowledgements, one ledger insert per batch); the tidy-up then empties the
  outboxes and markers in bulk. The relay's rate is N over the time from the sweep having queued
  them to the last one on the topic (end offsets, polled); the whole recovery's rate (sweep reading,
  sending, tidy-up done) is printed too, and when the backlog gauge read 0;
- baseline: a bare aiokafka producer (acks=all, idempotent) sending N copies of a relayed record
  with keys of the same size, one at a time (`send_and_wait` each) and batched (all sent, then
  awaited; same linger and batch size as the relay's producer);
- store floor: FerretDB doing only the relay's store work per document on a scratch collection of
  the same shape: before (one read and one `$unset`, both by `_id`, 16 at once) and now (the
  tidy-up's bulk `$unset` and marker deletes, 32 per command, one ledger insert per 200).
It prints events/s for each and the platform's ratios. Goal: >= 2,000 events/s and >= 0.2x the
batched bare producer. `--per-document K` changes each organisation K-1 times after registering it
(the changes' events wait in the same document), to show how the rate depends on documents, not
events.

    .venv/bin/python -m tests.benchmarks.relay [--events 5000] [--per-document 1] [--writers 16] [--profile bench]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from devstack.layout import Profile, profile
from pymongo import AsyncMongoClient, DeleteOne, UpdateOne
from servicekit.events.envelope import record_headers
from servicekit.events.topics import domain_topic
from servicekit.mongo import WRITE_BATCH
from servicekit.outbox import PENDING_MARKERS, RELAYED_LEDGER, EventProducer

from tests.benchmarks.summary import Figure, record
from tests.support.stack import auth, fresh_infrastructure, new_credit_code, organisation_body, start_service
from tests.support.stack import gauge as stack_gauge

TOPIC = "registry.events"
HELD = {"outbox_relay_notify": "false", "outbox_sweep_seconds": "3600"}


def gauge(p: Profile, name: str) -> float:
    return stack_gauge(f"http://127.0.0.1:{p.ports.api('registry')}", name)


async def write_organisations(p: Profile, documents: int, per_document: int, writers: int) -> int:
    """Register `documents` organisations and change each `per_document - 1` times through the API, so
    each outbox document holds `per_document` events; returns how many events were accepted."""
    url = f"http://127.0.0.1:{p.ports.api('registry')}/v1/organisations"
    headers = auth(p, "bench-officer", "coordinator", "officer")
    accepted = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(documents):
        queue.put_nowait(i)

    def check(response: httpx.Response, expected: int) -> None:
        if response.status_code != expected:
            raise RuntimeError(f"{response.request.method} {response.request.url} answered "
                               f"{response.status_code}: {response.text}")

    async def writer(client: httpx.AsyncClient) -> None:
        nonlocal accepted
        while not queue.empty():
            i = queue.get_nowait()
            code = new_credit_code()
            response = await client.post(url, json=organisation_body(code, f"Relay bench {i}"), headers=headers)
            check(response, 201)
            accepted += 1
            for change in range(1, per_document):
                response = await client.patch(f"{url}/{code}", json={"name": f"Relay bench {i}, change {change}"},
                                              headers={**headers, "If-Match": response.headers["ETag"]})
                check(response, 200)
                accepted += 1

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(writer(client) for _ in range(writers)))
    return accepted


async def store_floor(p: Profile, documents: int, per_document: int, event: dict[str, object]) -> tuple[float, float]:
    """Documents/s FerretDB allows for the relay's store work on each document, on a scratch collection
    of the same shape: before (one read and one `$unset`, both by `_id`, 16 at once) and now (the
    tidy-up: `$unset` by `_id` in commands of 32, then the markers' deletes likewise, one command at a
    time, plus one ledger insert per 200 documents)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(p.mongo_url)
    database = client["bench_relay_floor"]
    collection, markers, ledger = database["documents"], database["markers"], database["ledger"]
    entries = {f"e{n}": {"pos": f"{n:020d}-0000", "event": event} for n in range(per_document)}

    async def fill() -> None:
        await collection.drop()
        await markers.drop()
        for start in range(0, documents, 500):
            ids = range(start, min(start + 500, documents))
            await collection.insert_many([{"_id": f"d{i}", "outbox": entries} for i in ids])
            await markers.insert_many([{"_id": f"documents/d{i}", "collection": "documents", "doc_id": f"d{i}"}
                                       for i in ids])

    try:
        await fill()
        slots = asyncio.Semaphore(16)

        async def relay_one(i: int) -> None:
            async with slots:
                await collection.find_one({"_id": f"d{i}"}, {"outbox": 1})
            async with slots:
                await collection.update_one({"_id": f"d{i}"}, {"$unset": {f"outbox.{e}": "" for e in entries}})

        started = time.perf_counter()
        await asyncio.gather(*(relay_one(i) for i in range(documents)))
        before = documents / (time.perf_counter() - started)

        await fill()
        started = time.perf_counter()
        for start in range(0, documents, WRITE_BATCH):
            ids = range(start, min(start + WRITE_BATCH, documents))
            if start % 200 < WRITE_BATCH:
                await ledger.insert_one({"_id": f"l{start}", "collection": "documents",
                                         "sent": [{"doc_id": f"d{i}", "events": list(entries)}
                                                  for i in range(start, start + 200)]})
            await collection.bulk_write([UpdateOne({"_id": f"d{i}"}, {"$unset": {f"outbox.{e}": "" for e in entries}})
                                         for i in ids], ordered=False)
            await markers.bulk_write([DeleteOne({"_id": f"documents/d{i}"}) for i in ids], ordered=False)
        now = documents / (time.perf_counter() - started)
        return before, now
    finally:
        await client.drop_database("bench_relay_floor")
        await client.close()


async def outbox_leftovers(p: Profile) -> int:
    """Pending markers and ledger documents of the registry (a scan of two small collections)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(p.mongo_url)
    try:
        database = client[f"registry_{p.name}"]
        return (await database[PENDING_MARKERS].count_documents({})
                + await database[RELAYED_LEDGER].count_documents({}))
    finally:
        await client.close()


PARTITIONS = [TopicPartition(TOPIC, n) for n in range(domain_topic("registry").partitions)]


async def records_on(p: Profile) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=p.kafka_bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(PARTITIONS)).values())
    finally:
        await consumer.stop()


def logged_at(p: Profile, message: str) -> float:
    """When (Unix time) the relaying API first logged `message`, from its JSON log (same machine, so the
    same clock): the start-up sweep's "reading" (it found the markers) and "queued" (it had read every
    document and handed their events to the relay)."""
    found: float | None = None
    for line in (p.log_dir / "registry-api.log").read_text(errors="replace").splitlines():
        if message in line:
            stamp = json.loads(line)["time"]
            # The log writes local time without a zone; timestamp() reads a naive time as local too.
            found = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
            break
    if found is None:
        raise RuntimeError(f"the relaying API did not log {message!r}")
    return found


async def watch_topic(p: Profile, already: int, target: int, seconds: float) -> tuple[float, float]:
    """Poll the topic's end offsets until they reach `target`; when the first and the last arrived."""
    consumer = AIOKafkaConsumer(bootstrap_servers=p.kafka_bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        deadline = time.perf_counter() + seconds
        first: float | None = None
        total = 0
        while time.perf_counter() < deadline:
            total = sum((await consumer.end_offsets(PARTITIONS)).values())
            now = time.time()
            if total > already and first is None:
                first = now
            if total >= target:
                assert first is not None
                return first, now
            await asyncio.sleep(0.02)
        raise RuntimeError(f"only {total} of {target} records reached {TOPIC} in {seconds:.0f}s")
    finally:
        await consumer.stop()


async def sample_record(p: Profile, topic: str) -> tuple[bytes, bytes]:
    """One relayed record, so the baselines send records of the same size and shape."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=p.kafka_bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=1000, max_records=1)
            for messages in batch.values():
                for m in messages:
                    return m.key or b"", m.value or b""
    finally:
        await consumer.stop()


async def bare(p: Profile, count: int, key_size: int, value: bytes) -> tuple[float, float]:
    """Events/s of a bare producer: one at a time, then batched (on fresh topics of 6 partitions)."""
    stamp = int(time.time())
    topics = [f"bench.relay.single.{stamp}", f"bench.relay.batched.{stamp}"]
    admin = AIOKafkaAdminClient(bootstrap_servers=p.kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(t, 6, 1) for t in topics])
    await admin.close()
    keys = [new_credit_code().encode()[:key_size].ljust(key_size, b"0") for _ in range(count)]

    single = AIOKafkaProducer(bootstrap_servers=p.kafka_bootstrap, acks="all", enable_idempotence=True)
    await single.start()
    try:
        for key in keys[:20]:  # warm-up: metadata, connections
            await single.send_and_wait(topics[0], value=value, key=key, headers=record_headers())
        start = time.perf_counter()
        for key in keys:
            await single.send_and_wait(topics[0], value=value, key=key, headers=record_headers())
        one_at_a_time = count / (time.perf_counter() - start)
    finally:
        await single.stop()

    batched = AIOKafkaProducer(bootstrap_servers=p.kafka_bootstrap, acks="all", enable_idempotence=True,
                               linger_ms=EventProducer.LINGER_MS, max_batch_size=EventProducer.MAX_BATCH_BYTES)
    await batched.start()
    try:
        for key in keys[:20]:
            await batched.send_and_wait(topics[1], value=value, key=key, headers=record_headers())
        start = time.perf_counter()
        acks = [await batched.send(topics[1], value=value, key=key, headers=record_headers()) for key in keys]
        await asyncio.gather(*acks)
        in_batches = count / (time.perf_counter() - start)
    finally:
        await batched.stop()
    return one_at_a_time, in_batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000, help="events written through the API")
    parser.add_argument("--per-document", type=int, default=1,
                        help="events per outbox document (1: one registration each; more: changes too)")
    parser.add_argument("--writers", type=int, default=16, help="concurrent API clients while writing")
    parser.add_argument("--profile", default="bench", help="the stack profile to run on (its own ports and data)")
    args = parser.parse_args()
    per_document: int = args.per_document
    documents: int = args.events // per_document

    p = profile(args.profile)
    stack = fresh_infrastructure(p)
    api = start_service(p, "registry", "api", **HELD)
    try:
        before = asyncio.run(records_on(p))
        started = time.perf_counter()
        accepted = asyncio.run(write_organisations(p, documents, per_document, args.writers))
        write_rate = accepted / (time.perf_counter() - started)
        held_backlog = gauge(p, "registry_outbox_backlog_events")
        held_age = gauge(p, "registry_outbox_oldest_age_seconds")
        on_topic = asyncio.run(records_on(p)) - before
        print(f"\nwrote {accepted} events in {documents} documents through the API at {write_rate:.0f} events/s, "
              f"relay held back: backlog gauge {held_backlog:.0f}, oldest {held_age:.1f} s, on the topic {on_topic}")
        api.stop()

        launched = time.time()
        api = start_service(p, "registry", "api")
        first, last = asyncio.run(watch_topic(p, before, before + accepted, seconds=600))
        while (backlog := gauge(p, "registry_outbox_backlog_events")) > 0 and time.time() - last < 120:
            time.sleep(0.05)
        acknowledged = time.time()
        # Every 2 s: each poll scans the marker collection, which would slow the tidy-up it measures.
        while (left := asyncio.run(outbox_leftovers(p))) > 0 and time.time() - acknowledged < 600:
            time.sleep(2)
        tidied = time.time()
        reading = logged_at(p, "outbox sweep: reading")
        queued = logged_at(p, "outbox sweep queued")
        # The relay's own job: from the moment it had every event in hand (as a write's wake-up hands
        # them over, or here the sweep) to the moment Kafka had the last (the topic's end offsets, which
        # move once the broker has a record; the backlog gauge, read over HTTP, follows).
        relayed = accepted / (last - queued)
        # The whole recovery after a restart: reading every marked document by `_id`, sending, and the
        # tidy-up (outboxes, markers and ledgers emptied), measured with a 2 s poll.
        recovered = accepted / (tidied - reading)
        print(f"relaying API (times from its launch): sweep began reading {reading - launched:.1f} s, queued "
              f"{queued - launched:.1f} s, first event on the topic {first - launched:.1f} s, all "
              f"{last - launched:.1f} s, backlog gauge {backlog:.0f} at {acknowledged - launched:.1f} s, markers "
              f"and ledgers left {left} at {tidied - launched:.1f} s; relayed in {last - queued:.2f} s, "
              f"recovered in {tidied - reading:.2f} s")

        key, value = asyncio.run(sample_record(p, TOPIC))
        single, batched = asyncio.run(bare(p, accepted, len(key), value))
        floor_before, floor_now = asyncio.run(store_floor(p, documents, per_document, json.loads(value)))
    finally:
        api.stop()
        stack.stop()

    print(f"\nRelay throughput: {accepted} events of {len(value)} bytes (key {len(key)} bytes), "
          f"{per_document} per outbox document")
    rows = [("baseline: bare producer, one at a time", single),
            ("baseline: bare producer, batched", batched),
            ("store floor before: read + clear by _id", floor_before * per_document),
            ("store floor now: tidy-up in bulk by _id", floor_now * per_document),
            ("platform: restart recovery (read+send+tidy)", recovered),
            ("platform: registry API outbox relay", relayed)]
    for name, rate in rows:
        print(f"{name:<44} {rate:9,.0f} events/s")
    print(f"ratio platform / bare one at a time          {relayed / single:9.2f}x")
    print(f"ratio platform / bare batched                {relayed / batched:9.2f}x")
    print(f"ratio tidy-up floor now / before             {floor_now / floor_before:9.2f}x")
    verdict = "met" if relayed >= 2000 and relayed >= 0.2 * batched else "NOT met"
    print(f"goal >= 2,000 events/s and >= 0.2x bare batched: {verdict}")
    record(Figure("relay", "registry API relay events/s", relayed, "1/s", batched, "bare producer batched",
                  ">= 2,000 and >= 0.2x", relayed >= 2000 and relayed >= 0.2 * batched))
    record(Figure("relay", "restart recovery events/s (read, send, tidy)", recovered, "1/s"))


if __name__ == "__main__":
    main()
