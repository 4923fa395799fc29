"""Benchmark (not a test): how the local store (FerretDB 1.24 on SQLite) takes writes by `_id`, one at a
time and side by side, and as bulk commands of different sizes, on a stack of its own.

Why it exists: the kit's `bulk_write_in_batches(per_command=, at_once=)` and the relay's tidy-up are
shaped by what it prints (FerretDB commits the statements of one command one after the other, separate
commands in parallel). Baseline: one `update_one` at a time.

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

from tests.support.stack import fresh_infrastructure

DOCUMENTS = 2000
STATEMENTS = 640


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


async def run(url: str) -> None:
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
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="bench")
    args = parser.parse_args()
    p = profile(args.profile)
    stack = fresh_infrastructure(p)
    try:
        asyncio.run(run(p.mongo_url))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
