"""Benchmark (not a test): two builds of the local store side by side, the store's CPU per statement.

Why it exists: a change to how the local FerretDB is built (an overlay of deploy/local/ferretdb/overlay, a
module version in its go.mod) moves the store's CPU by a few percent, and this machine's speed drifts by
more than that between runs minutes apart, so runs one after the other could not tell (README, "Twenty-
seventh session"). Here both builds run at once, each with its own data, and take the same statements in
short rounds, alternately (A B B A ...), so the drift falls on both alike; it prints each round's CPU per
statement of each store and the ratio, candidate over baseline, per pair of rounds.

The statements are the kinds a create + publish makes, by `_id`, 8 at once: a pending marker inserted and
deleted, a 1 KB aggregate read, changed (`$set` + `$inc`) and inserted.

    .venv/bin/python -m tests.benchmarks.store_builds [--baseline none] [--candidate all] [--rounds 12]

`--baseline` and `--candidate`: which overlays the build puts in (`all`, `none`, or names as
`FERRETDB_OVERLAYS` takes them), or the path of a FerretDB program built before (another go.mod, say).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.components import FERRETDB_OVERLAYS_ENV, FERRETDB_PROGRAM_ENV, ensure_ferretdb
from devstack.layout import CACHE_DIR
from devstack.processes import port_open
from pymongo import AsyncMongoClient

from tests.benchmarks.cpu import cpu_seconds

AT_ONCE = 8
DOCUMENTS = 2_000
AGGREGATE = {"title": "x" * 80, "abstract": "y" * 600, "region_code": "110000", "status": "draft", "version": 1,
             "ipc_codes": ["H01M 10/0525", "H01M 4/131"], "owner": "91110000MA00000001X"}


def store_program(choice: str) -> Path:
    """The FerretDB program for a choice: a path as it is, or a build with those overlays."""
    if Path(choice).is_file():
        return Path(choice)
    saved = {name: os.environ.pop(name, None) for name in (FERRETDB_OVERLAYS_ENV, FERRETDB_PROGRAM_ENV)}
    os.environ[FERRETDB_OVERLAYS_ENV] = "" if choice == "all" else choice
    try:
        return ensure_ferretdb()
    finally:
        os.environ.pop(FERRETDB_OVERLAYS_ENV, None)
        os.environ.update({name: value for name, value in saved.items() if value is not None})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Store:
    label: str
    program: Path
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    client: AsyncMongoClient[dict[str, Any]] | None = None
    # CPU ms per statement, one value per round.
    rounds: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(self.program), "-listen", f"127.0.0.1:{self.port}", "-metrics-listen", f"127.0.0.1:{free_port()}",
             "-data-dir", str(self.data_dir), "-synchronous", "normal", "-busy-wait", "poll"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{self.label} store ({self.program}) did not start")
            time.sleep(0.1)
        self.client = AsyncMongoClient(f"mongodb://127.0.0.1:{self.port}/", maxPoolSize=AT_ONCE * 2)

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self.process is not None:
            self.process.terminate()  # the process this benchmark started, by its handle
            self.process.wait(timeout=30)


async def load(store: Store) -> None:
    assert store.client is not None
    db = store.client["store_builds"]
    await db["aggregates"].insert_many([{"_id": f"a{i}", **AGGREGATE} for i in range(DOCUMENTS)])
    await asyncio.sleep(3)  # the _id lookup index is added within 2 s (deploy/local/ferretdb/idindex.go)


async def one_round(store: Store, round_number: int, statements_per_kind: int) -> float:
    """The kinds of statement, each `statements_per_kind` times, 8 at once; the store's CPU ms per statement."""
    assert store.client is not None and store.process is not None
    db = store.client["store_builds"]
    first = round_number * statements_per_kind
    kinds = [
        lambda i: db["markers"].insert_one({"_id": f"m{i}", "collection": "listings", "doc_id": f"a{i % DOCUMENTS}"}),
        lambda i: db["aggregates"].find_one({"_id": f"a{(i * 37) % DOCUMENTS}"}),
        lambda i: db["aggregates"].update_one({"_id": f"a{(i * 37) % DOCUMENTS}"},
                                              {"$set": {"status": "published", "round": i}, "$inc": {"version": 1}}),
        lambda i: db["created"].insert_one({"_id": f"c{i}", **AGGREGATE}),
        lambda i: db["markers"].delete_one({"_id": f"m{i}"}),
    ]
    before = cpu_seconds(store.process.pid)
    for kind in kinds:
        numbers = iter(range(first, first + statements_per_kind))

        async def writer(kind: Any = kind, numbers: Any = numbers) -> None:
            for i in numbers:  # shared by the writers: each statement is sent once
                await kind(i)

        await asyncio.gather(*(writer() for _ in range(AT_ONCE)))
    return (cpu_seconds(store.process.pid) - before) * 1000 / (statements_per_kind * len(kinds))


async def run(baseline: Store, candidate: Store, rounds: int, statements_per_kind: int) -> None:
    for store in (baseline, candidate):
        store.start()
    try:
        await asyncio.gather(load(baseline), load(candidate))
        await one_round(baseline, 0, statements_per_kind // 4)  # warm-up, not reported
        await one_round(candidate, 0, statements_per_kind // 4)
        print(f"store CPU per statement (ms), {statements_per_kind} statements of each of 5 kinds per round, "
              f"{AT_ONCE} at once, the two stores alternately:")
        ratios: list[float] = []
        for number in range(1, rounds + 1):
            order = (baseline, candidate) if number % 2 else (candidate, baseline)
            for store in order:
                store.rounds.append(await one_round(store, number, statements_per_kind))
            ratio = candidate.rounds[-1] / baseline.rounds[-1]
            ratios.append(ratio)
            print(f"  round {number:2d} ({order[0].label} first): baseline {baseline.rounds[-1]:5.3f}  "
                  f"candidate {candidate.rounds[-1]:5.3f}  ratio {ratio:5.3f}")
        print(f"candidate / baseline, store CPU per statement: median {statistics.median(ratios):5.3f}, "
              f"min {min(ratios):5.3f}, max {max(ratios):5.3f} over {rounds} rounds "
              f"(baseline median {statistics.median(baseline.rounds):5.3f} ms, "
              f"candidate median {statistics.median(candidate.rounds):5.3f} ms)")
    finally:
        await asyncio.gather(baseline.stop(), candidate.stop())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="none")
    parser.add_argument("--candidate", default="all")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--statements", type=int, default=600, help="of each kind, per round and store")
    args = parser.parse_args()
    programs = store_program(args.baseline), store_program(args.candidate)
    print(f"baseline: {args.baseline} ({programs[0].name}); candidate: {args.candidate} ({programs[1].name})")
    work = Path(tempfile.mkdtemp(prefix="store-builds-", dir=CACHE_DIR))
    try:
        baseline = Store("baseline", programs[0], work / "baseline")
        candidate = Store("candidate", programs[1], work / "candidate")
        asyncio.run(run(baseline, candidate, rounds=args.rounds, statements_per_kind=args.statements))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
