"""Benchmark (not a test): how the local store (FerretDB 1.24 on SQLite) takes writes by `_id`, one at a
time and side by side, and as bulk commands of different sizes, on a stack of its own.

Why it exists: the kit's `bulk_write_in_batches(per_command=, at_once=)` and the relay's tidy-up are
shaped by what it prints (FerretDB commits the statements of one command one after the other, separate
commands in parallel). Baseline: one `update_one` at a time.

It also prices each kind of single-document write a registration or a publish makes (the store's CPU per
statement, from /proc, and the client's), against an insert of a small new document: why the pending
markers are inserted rather than upserted (servicekit.outbox.mark_pending) and a first filing document
too (search_store._write_filings), and what the lookups and the relay's tidy-up cost beside them.

    .venv/bin/python -m tests.benchmarks.store_writes [--profile bench]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from bson import Binary
from devstack.layout import profile
from pymongo import AsyncMongoClient, UpdateOne

from tests.benchmarks.cpu import cpu_seconds
from tests.support.stack import fresh_infrastructure

DOCUMENTS = 2000
STATEMENTS = 640
# Per kind of write below: statements, and how many at once (an API has many requests in flight).
KIND_STATEMENTS = 3000
KIND_AT_ONCE = 16
# A lookup bucket of an organisation list at some 60,000 organisations (servicekit.lookups: 256 hash
# buckets, one id per line), and an aggregate with one event in its outbox, about 1 KB.
BUCKET = "\n".join(f"91110000MA{i:08d}X" for i in range(230))
AGGREGATE = {"name": "x" * 40, "region_code": "110000", "address": "y" * 120, "version": 1,
             "outbox": {"e1": {"pos": "0" * 25, "event": {"id": "e" * 32, "type": "registry.organisation.registered",
                                                         "data": {"name": "x" * 40, "address": "y" * 120}}}}}


async def single_updates(collection: Any, at_once: int) -> float:
    ids = iter(range(STATEMENTS * 2))
    started = time.perf_counter()

    async def writer() -> None:
        for i in ids:
            await collection.update_one({"_id": f"d{(i * 37) % DOCUMENTS}"}, {"$set": {"v": i}})

    await asyncio.gather(*(writer() for _ in range(at_once)))
    return STATEMENTS * 2 / (time.perf_counter() - started)


async def bulk_commands(collection: Any, value: Binary, per_command: int, at_once: int) -> float:
    starts = iter(range(0, STATEMENTS, per_command))
    started = time.perf_counter()

    async def sender() -> None:
        for start in starts:
            await collection.bulk_write([UpdateOne({"_id": f"d{(i * 37) % DOCUMENTS}"}, {"$set": {"d": value}})
                                         for i in range(start, start + per_command)], ordered=False)

    await asyncio.gather(*(sender() for _ in range(at_once)))
    return STATEMENTS / (time.perf_counter() - started)


# A listing's filing document in the search read model (search_store.filing_document): what it is
# filed under, and its result card as one JSON string, about 1 KB.
FILING = {"terms": "\n".join(f"kw:term{t}" for t in range(30)), "price": 500, "layout": 1, "status": "published",
          "j": "{" + "x" * 700 + "}"}


def _marker(i: int) -> dict[str, Any]:
    return {"collection": "organisations", "doc_id": f"91110000MA{i:08d}X"}


# (what the platform writes this way, the write of statement i). Each kind works on its own collection.
KINDS: list[tuple[str, Any]] = [
    ("insert a new marker (mark_pending now)",
     lambda c, i: c["markers"].insert_one({"_id": f"m{i}", **_marker(i)})),
    ("upsert a new marker (mark_pending before)",
     lambda c, i: c["markers_upserted"].update_one({"_id": f"m{i}"}, {"$set": _marker(i)}, upsert=True)),
    ("rewrite a 4 KB lookup bucket by _id",
     lambda c, i: c["buckets"].update_one({"_id": f"b{i % 256}"}, {"$set": {"s": BUCKET, "v": i}})),
    ("insert a 1 KB aggregate with its event",
     lambda c, i: c["aggregates"].insert_one({"_id": f"a{i}", **AGGREGATE})),
    ("replace-upsert a new 1 KB filing document (before)",
     lambda c, i: c["filings_upserted"].replace_one({"_id": f"c{i}"}, {**FILING, "seq": i}, upsert=True)),
    ("insert a new 1 KB filing document (now)",
     lambda c, i: c["filings"].insert_one({"_id": f"c{i}", **FILING, "seq": i})),
    ("$unset the sent event of an aggregate (tidy-up)",
     lambda c, i: c["aggregates"].update_one({"_id": f"a{i}"}, {"$unset": {"outbox.e1": ""}})),
    ("delete a marker by _id (tidy-up)",
     lambda c, i: c["markers"].delete_one({"_id": f"m{i}"})),
]


async def write_kinds(client: AsyncMongoClient[dict[str, Any]], store_pid: int) -> None:
    database = client["store_write_kinds"]
    print(f"single-document writes by _id, {KIND_STATEMENTS} of each, {KIND_AT_ONCE} at once "
          "(CPU per statement: the store's, the client's):")
    # The buckets exist, as an organisation list's do after its first few hundred registrations.
    await database["buckets"].insert_many([{"_id": f"b{i}", "s": BUCKET, "v": 0} for i in range(256)])
    baseline: float | None = None
    for label, write in KINDS:
        statements = iter(range(KIND_STATEMENTS))

        async def writer(write: Any = write, statements: Any = statements) -> None:
            for i in statements:  # shared by the writers: each statement is written once
                await write(database, i)

        started, client_before, store_before = time.perf_counter(), time.process_time(), cpu_seconds(store_pid)
        await asyncio.gather(*(writer() for _ in range(KIND_AT_ONCE)))
        wall = time.perf_counter() - started
        store_ms = (cpu_seconds(store_pid) - store_before) * 1000 / KIND_STATEMENTS
        client_ms = (time.process_time() - client_before) * 1000 / KIND_STATEMENTS
        baseline = store_ms if baseline is None else baseline
        print(f"  {label:<50} {KIND_STATEMENTS / wall:6.0f}/s  store {store_ms:5.2f} ms  client {client_ms:5.2f} ms"
              f"  store x{store_ms / baseline:4.1f} the first")


async def run(url: str, store_pid: int) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    collection = client["store_writes"]["docs"]
    await collection.insert_many([{"_id": f"d{i}", "pad": "x" * 800} for i in range(DOCUMENTS)])
    await asyncio.sleep(3)  # the _id lookup index is added within 2 s (deploy/local/ferretdb/idindex.go)
    await single_updates(collection, 4)  # warm-up, not reported
    print(f"update_one by _id, {STATEMENTS * 2} of them, 800-byte documents:")
    for at_once in (1, 2, 4, 8, 16):
        print(f"  {at_once:2d} at once: {await single_updates(collection, at_once):7.0f}/s")
    for size in (100, 60_000):
        value = Binary(os.urandom(size))
        await bulk_commands(collection, value, 8, 4)  # warm-up
        print(f"bulk_write of $set by _id, {STATEMENTS} statements, {size}-byte values:")
        for per_command, at_once in ((32, 1), (16, 2), (8, 4)):
            rate = await bulk_commands(collection, value, per_command, at_once)
            print(f"  {per_command:2d} per command, {at_once} at once: {rate:7.0f} statements/s")
    await write_kinds(client, store_pid)
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="bench")
    args = parser.parse_args()
    p = profile(args.profile)
    stack = fresh_infrastructure(p)
    try:
        store = next(proc for proc in stack.started if proc.name == "ferretdb")
        assert store.pid is not None
        asyncio.run(run(p.mongo_url, store.pid))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
