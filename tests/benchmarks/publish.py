"""Benchmark (not a test): creating and publishing listings through the API, and how the cost grows
with the catalogue, side by side with bare store operations in the same run.

For each catalogue size (default 1,000 and 100,000 published listings, bulk-loaded like the search
benchmark does: the same documents and read model the API writes), it starts the trading API on a
fresh stack of its own and drives it with `--concurrency` clients, each creating a draft listing
(POST /v1/listings with an Idempotency-Key) and publishing it (POST .../publish with If-Match), and
measures:

- create, publish and create + publish latency (p50/p95/p99) and publishes per second;
- the delay from a publish's answer to the listing appearing in a search for its unique keyword;
- baselines in the same stack: a bare FerretDB insert_one and a bare `_id` read (pymongo, no HTTP).

With `--warm-up N` each size first runs N creates + publishes on an empty catalogue through an API of
their own, not measured, and drops the database again (`warm_up_stack`): a fresh Kafka broker compiles
its request path during its first minute of traffic, which a running platform no longer pays.

With `--settle N` the measured API first makes N creates + publishes on the loaded catalogue, not
measured, and waits until they are folded (`settle_catalogue`; they stay, so the catalogue holds N more):
a bulk load leaves no carry segment (search_store, "batch segments"), and a run starting without one
defers head writes that a catalogue filed by the API for days pays.

With `--rate R` the measured phase offers R pairs per second (pair i is due i / R seconds after the
start, at most `--concurrency` in flight) and times each from when it was due, so latency is measured
at a given load, as users arriving on their own make it; without it each client starts its next pair
when its last one answered, which measures the most the stack carries, and its latency follows from
that: 8 clients at 110 pairs/s take 8 / 110 s = 73 ms a pair on average (Little's law), however fast
one pair alone is.

The listings it creates are drawn like the catalogue's (`--text varied`, the default: titles, abstracts,
classifications, regions, deal types and prices from the search benchmark's vocabulary and mixes), so
each carries some 40 of the catalogue's 10,400 search terms, as real listings spread over a
vocabulary; `--text uniform` gives them all one text, as the benchmark did before the twentieth
session (see TEXTS).

With `--timeline FILE` (a diagnostic) it also writes when each measured pair was due, sent, created and
published, when the folder ran and each process's CPU every half second, for `tests.benchmarks.timeline`
to say which slow pairs met a fold and what the cores did meanwhile.

It prints one table, the ratios against the baselines and the growth from the smallest to the
largest size. Goals (issue 10, concurrency 8, at 100,000): create + publish p95 < 100 ms at the load
of >= 50 publishes/s (judged with `--rate`; a run without it prints its p95 as a capacity figure, see
SATURATED), >= 50 publishes/s, publish p50 growth (100,000 / 1,000) <= 1.5, publish-to-search p95 < 1 s.

    .venv/bin/python -m tests.benchmarks.publish [--sizes 1000 100000] [--publishes 400] [--concurrency 8]
        [--warm-up 3000] [--settle 6000] [--rate 60] [--text varied|uniform] [--timeline FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from devstack.layout import Profile, profile
from devstack.processes import ManagedProcess
from pymongo import AsyncMongoClient, MongoClient
from trading.listings import fold_trace, search_store
from trading.patents.identifiers import application_check_character

from tests.benchmarks.client import session
from tests.benchmarks.cpu import CpuWatch, cpu_seconds, taking_part
from tests.benchmarks.search import drawn_offer, load, percentiles
from tests.benchmarks.summary import Figure, record
from tests.support.stack import fresh_infrastructure, series_total, start_service, token

# How often the search-delay poller asks (its resolution; a poll is one cached search).
POLL_SECONDS = 0.05
ORGANISATION = "91210200MA0BENCH0X"  # owner of the bulk-loaded listings, active in trading's projection


@dataclass
class SizeResult:
    size: int
    create: list[float] = field(default_factory=list)
    publish: list[float] = field(default_factory=list)
    both: list[float] = field(default_factory=list)
    visible: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    bare_insert: list[float] = field(default_factory=list)
    bare_read: list[float] = field(default_factory=list)
    # Per process: the CPU it used during the run (publishing, then until search showed the last publish).
    cpu: CpuWatch | None = None
    # The API's segment folder over the run: listings it folded, and seconds its runs took in all.
    folded: float = 0.0
    fold_seconds: float = 0.0
    live_at_end: float = 0.0  # listings still in live segments when the run ended
    carried_after: float = 0.0  # rare terms' postings waiting in the carry once the drain is over
    carried_terms: int = 0  # and how many terms they belong to (read from the store)
    carried_before: float = 0.0  # postings in the carry when the measurement began
    # After the run, until the folder has merged what the run left in live segments (its cost is the
    # run's too: publishing at that rate for longer pays it as it goes). None: not measured.
    drain: CpuWatch | None = None
    drained: bool = False
    # With --timeline: each measured pair as (due, sent, created, published), Unix seconds (due = sent
    # without --rate), and each finished run of the folder as (start, end), to see what the slow pairs met.
    pairs: list[tuple[float, float, float, float]] = field(default_factory=list)
    folds: list[tuple[float, float]] = field(default_factory=list)
    # And every half second, each taking process's CPU seconds so far (Unix seconds, {name: seconds}).
    cpu_samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.publish) / self.elapsed if self.elapsed else 0.0


def patent_number(serial: int) -> str:
    number = f"2025{1}{serial:07d}"
    return number + application_check_character(number)


async def verified_patents(p: Profile, serials: range) -> None:
    """Only a verified owner publishes (issue 11): the patents the benchmark lists are seeded as an
    officer's verification leaves them, before the clock starts (claims are not what it measures)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(p.mongo_url, tz_aware=True)
    docs: list[dict[str, Any]] = [
        {"_id": patent_number(s), "application_number": patent_number(s), "patent_kind": "invention", "claims": {},
         "owner_organisation_id": ORGANISATION, "open_listing_id": None, "open_licence": None,
         "term_extensions": [], "version": 1} for s in serials]
    await client[f"trading_{p.name}"]["patents"].insert_many(docs)
    await client.close()


# What the created listings say: "varied" (the default) draws each one's title, abstract, IPC codes,
# industry, region, deal types and price from the bulk-loaded catalogue's vocabulary and mixes
# (tests.benchmarks.search.drawn_offer, seeded by the serial), so a listing carries some 40 search
# terms out of the catalogue's 10,400, and a batch of 50 such listings touches some 870 of them.
# "uniform" gives every listing the same text but its keywords, as this benchmark did until the
# twentieth session: 35 terms, 34 shared by every listing, so a batch of N touched 34 + N terms, far
# fewer than real listings touch (README, "Twentieth session").
TEXTS = ("varied", "uniform")


def listing_body(serial: int, keyword: str, text: str = "varied") -> dict[str, Any]:
    number = f"2025{1}{serial:07d}"
    fixed = {"application_number": number + application_check_character(number), "patent_kind": "invention",
             "legal_status": "granted", "filing_date": "2025-03-01"}
    if text == "uniform":
        return {**fixed, "title": f"储能电池热管理装置 {keyword}", "abstract": "一种液冷板结构 提高电池组温度均匀性。",
                "ipc_codes": ["H01M 10/613"], "industry": "new_energy", "region_code": "210200",
                "deal_types": ["exclusive_licence", "ordinary_licence"], "price_fen": 80_000_000}
    offer = drawn_offer(random.Random(serial))
    del offer["filing_year"]  # the patent's number, verified by the benchmark, says 2025
    return {**fixed, **offer, "title": f"{offer['title']} {keyword}"}


def prepare(p: Profile, size: int) -> None:
    load(p, size)
    project_organisation(p)


def project_organisation(p: Profile) -> None:
    """The benchmark's owner, active in trading's projection of the registry (only an active
    organisation lists)."""
    mongo: MongoClient[dict[str, Any]] = MongoClient(p.mongo_url, tz_aware=True)
    mongo[f"trading_{p.name}"]["organisations"].replace_one(
        {"_id": ORGANISATION},
        {"_id": ORGANISATION, "credit_code": ORGANISATION, "name": "Bench Co.", "kind": "enterprise",
         "region_code": "210200", "status": "active", "version": 1, "projected_at": datetime.now(UTC)},
        upsert=True)
    mongo.close()


def settled_api(p: Profile, **overrides: str) -> ManagedProcess:
    """The trading API once its background tasks have each run once (their start-up work is not what
    this benchmark measures). `overrides`: its settings, as for start_service."""
    api = start_service(p, "trading", "api", **overrides)
    url = f"http://127.0.0.1:{p.ports.api('trading')}/metrics"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        text = httpx.get(url, timeout=30).text
        finished = {line.split('task="')[1].split('"')[0] for line in text.splitlines()
                    if line.startswith("trading_background_runs_total{") and float(line.split()[-1]) >= 1}
        if {"search-indexer", "deals-sweep", "deal-gauges"} <= finished:
            return api
        time.sleep(1)
    api.stop()
    raise SystemExit("the trading API's first background runs did not finish within 15 minutes")


async def drive(p: Profile, result: SizeResult, serials: range, concurrency: int, text: str,
                rate: float | None = None, timeline: bool = False) -> None:
    """Create and publish one listing per serial (its patent's number), `concurrency` at a time: as fast
    as the clients go, or with `rate`, pair i due at i / rate seconds after the start (see `--rate`)."""
    base = f"http://127.0.0.1:{p.ports.api('trading')}/v1/listings"
    headers = {"Authorization": f"Bearer {token(p, 'bench-owner', 'participant', org=ORGANISATION)}"}
    remaining = iter(enumerate(serials))
    started = 0.0
    run_keyword = f"zr{uuid.uuid4().hex[:10]}"
    await verified_patents(p, serials)

    # When each publish answered, by listing id, until a search shows it; and each listing's own keyword.
    unseen: dict[str, float] = {}
    keywords: dict[str, str] = {}
    seen: set[str] = set()
    publishing_done = asyncio.Event()

    async def why_unseen(client: aiohttp.ClientSession, listing_id: str) -> str:
        """Whether a search for the listing's own keyword shows it: if so, it was searchable and the poller
        (which stops paging at the first listing it saw before) passed it by; if not, search lost it."""
        async with client.get(base, params={"q": keywords[listing_id], "limit": 10}) as found:
            ids = [item["id"] for item in (await found.json())["items"]] if found.status == 200 else []
        if listing_id in ids:
            return "found by its own keyword: searchable, missed by the poller"
        return f"NOT found by its own keyword either (search answered {found.status})"

    async def watch(client: aiohttp.ClientSession) -> None:
        """The search delay of every publish, with one poller: every benchmark listing carries the run's
        keyword, so the newest page of a search for it shows what was filed since the last poll. A
        request per listing (as this benchmark did before) loaded the API it measures with more searches
        than publishes, and timed only a sample."""
        deadline = float("inf")
        while unseen or not publishing_done.is_set():
            if publishing_done.is_set() and deadline == float("inf"):
                deadline = time.perf_counter() + 30
            if time.perf_counter() > deadline:
                for listing_id in unseen:
                    result.failures.append(f"{listing_id} not in search 30 s after the last publish; "
                                           f"{await why_unseen(client, listing_id)}")
                return
            # Newest first, page after page until one shows a listing seen before: the indexer files
            # a batch at once, which can hold more listings than a page. Once publishing is done, every
            # page: a listing that turned up below one already seen is then found too.
            params: dict[str, str | int] = {"q": run_keyword, "limit": 100}
            whole = publishing_done.is_set()
            for _page in range(1000 if whole else 20):
                async with client.get(base, params=params) as found:
                    now = time.perf_counter()
                    if found.status != 200:
                        break
                    page = await found.json()
                ids = [item["id"] for item in page["items"]]
                for listing_id in ids:
                    published_at = unseen.pop(listing_id, None)
                    if published_at is not None:
                        result.visible.append(now - published_at)
                known = any(listing_id in seen for listing_id in ids)
                seen.update(ids)
                if (known and not whole) or not page.get("next_cursor"):
                    break
                params = {**params, "cursor": page["next_cursor"]}
            await asyncio.sleep(POLL_SECONDS)

    async def worker(client: aiohttp.ClientSession) -> None:
        for index, serial in remaining:
            keyword = f"zq{uuid.uuid4().hex[:10]}"
            t0 = time.perf_counter()
            sent = t0
            if rate:
                due = started + index / rate
                if due > t0:
                    await asyncio.sleep(due - t0)
                # Timed from when the pair was due, not from when a client got to it: a pair that waited
                # because every client was busy counts its wait, as a user's would (no coordinated
                # omission, which would hide exactly the slow stretches).
                t0 = due
                sent = time.perf_counter()
            async with client.post(base, json=listing_body(serial, f"{run_keyword} {keyword}", text),
                                   headers={**headers, "Idempotency-Key": f"bench-{uuid.uuid4().hex}"}) as created:
                body = await created.text()
            t1 = time.perf_counter()
            if created.status != 201:
                result.failures.append(f"create {created.status}: {body[:200]}")
                continue
            listing = json.loads(body)
            async with client.post(f"{base}/{listing['id']}/publication",
                                   headers={**headers, "If-Match": created.headers["ETag"]}) as published:
                answer = await published.text()
            t2 = time.perf_counter()
            if published.status != 200:
                result.failures.append(f"publish {published.status}: {answer[:200]}")
                continue
            unseen[listing["id"]] = t2
            keywords[listing["id"]] = keyword
            result.create.append(t1 - t0)
            result.publish.append(t2 - t1)
            result.both.append(t2 - t0)
            to_unix = time.time() - time.perf_counter()
            result.pairs.append((t0 + to_unix, sent + to_unix, t1 + to_unix, t2 + to_unix))

    async def sample_folds_and_cores(client: aiohttp.ClientSession) -> None:
        """For --timeline, every half second: the folder's finished runs, from the API's metrics (when its
        total run time grew by d at a run that ended at t, that run took [t - d, t]), and each process's
        CPU so far. One /metrics request to the measured API every half second: a diagnostic's cost."""
        metrics = f"http://127.0.0.1:{p.ports.api('trading')}/metrics"
        ran = 'trading_background_run_duration_seconds_sum{task="search-segment-folder"}'
        ended = 'trading_background_last_success_timestamp_seconds{task="search-segment-folder"}'
        total = None
        while not publishing_done.is_set():
            async with client.get(metrics) as answer:
                values = dict(line.rpartition(" ")[::2] for line in (await answer.text()).splitlines()
                              if line.startswith((ran, ended)))
            now_total = float(values.get(ran, 0.0))
            if total is not None and now_total > total:
                end = float(values[ended])
                result.folds.append((end - (now_total - total), end))
            total = now_total
            if result.cpu is not None:
                result.cpu_samples.append((time.time(), {name: cpu_seconds(pid)
                                                         for name, pid in result.cpu.pids.items()}))
            await asyncio.sleep(0.5)

    async with session(60) as client:
        async with client.get(base) as first:
            assert first.status == 200
        started = time.perf_counter()  # the workers' clock for when each pair is due
        watcher = asyncio.create_task(watch(client))
        folds = asyncio.create_task(sample_folds_and_cores(client)) if timeline else None
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - started
        publishing_done.set()
        await watcher
        if folds is not None:
            await folds


async def baselines(p: Profile, result: SizeResult, count: int, concurrency: int) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(p.mongo_url, tz_aware=True)
    db = client[f"trading_{p.name}"]
    scratch = db[f"bench_scratch_{uuid.uuid4().hex[:6]}"]
    body = listing_body(0, "baseline")
    ids = iter(range(count))

    async def inserter() -> None:
        for i in ids:
            t0 = time.perf_counter()
            await scratch.insert_one({"_id": f"b-{i}", **body})
            result.bare_insert.append(time.perf_counter() - t0)

    await asyncio.gather(*(inserter() for _ in range(concurrency)))
    for i in range(count):
        t0 = time.perf_counter()
        await db["listings"].find_one({"_id": f"lst-{(i * 7919) % result.size:020x}"})
        result.bare_read.append(time.perf_counter() - t0)
    await scratch.drop()
    await client.close()


def warm_up_stack(p: Profile, pairs: int, concurrency: int, text: str) -> None:
    """`pairs` creates + publishes through an API of their own on an empty catalogue, not measured, and
    then the trading database dropped, so the measured run starts from the same catalogue as without.
    What stays warm is the infrastructure: a fresh Kafka broker spends its first minute of traffic
    compiling its request path (its CPU per create + publish fell from 1.7 to 0.9 ms after 3,000 of
    them, README "Nineteenth session"), which a platform that has been running for days no longer pays.
    The measured run's API is a fresh process (it must not keep caches of the dropped database)."""
    prepare(p, 0)
    api = settled_api(p)
    warming = SizeResult(0)
    try:
        asyncio.run(drive(p, warming, range(1, pairs + 1), concurrency, text))
    finally:
        api.stop()
    mongo: MongoClient[dict[str, Any]] = MongoClient(p.mongo_url, tz_aware=True)
    mongo.drop_database(f"trading_{p.name}")
    mongo.close()
    print(f"warm-up: {len(warming.both)} creates + publishes on an empty catalogue, not measured (p95 "
          f"{ms(warming.both, 'p95').strip()} ms, {len(warming.failures)} failures), then the database dropped")


def settle_catalogue(p: Profile, pairs: int, first_serial: int, concurrency: int, text: str) -> None:
    """`pairs` creates + publishes through the measured API before the measurement, not measured, and
    until the folder has merged them: they stay in the catalogue (its size grows by `pairs`). What this
    brings to a steady state is what the bulk load cannot build: the carry segment of rare terms'
    postings (search_store, "batch segments"), which a catalogue the API has been filing for days holds
    and which is empty after a bulk load, so a run from it defers head writes a steady state pays."""
    settling = SizeResult(0)
    asyncio.run(drive(p, settling, range(first_serial, first_serial + pairs), concurrency, text))
    drained = wait_for_folds(p)
    carried = series_total(f"http://127.0.0.1:{p.ports.api('trading')}", "trading_search_carried_postings")
    print(f"settled: {len(settling.both)} creates + publishes on the loaded catalogue, not measured "
          f"({len(settling.failures)} failures), {'all folded' if drained else 'NOT all folded'}, "
          f"{carried:.0f} postings in the carry")


def measure(p: Profile, size: int, publishes: int, concurrency: int, warm_up: int, text: str,
            settle: int = 0, rate: float | None = None, timeline: Path | None = None) -> SizeResult:
    stack = fresh_infrastructure(p)
    result = SizeResult(size)
    try:
        if warm_up:
            warm_up_stack(p, warm_up, concurrency, text)
        prepare(p, size)
        # With --timeline, the API's folds trace their steps (trading.listings.fold_trace) for it.
        trace = p.log_dir / "fold-trace.jsonl"
        trace.unlink(missing_ok=True)
        api = settled_api(p, **({"search_fold_trace_file": str(trace)} if timeline is not None else {}))
        try:
            if settle:
                settle_catalogue(p, settle, publishes + 1, concurrency, text)
            result.carried_before = series_total(f"http://127.0.0.1:{p.ports.api('trading')}",
                                                 "trading_search_carried_postings")
            # Every process on the machine that takes part, so the report says where the cores went.
            result.cpu = CpuWatch(taking_part([*stack.started, api]))
            folder_before = folder_totals(p)
            asyncio.run(drive(p, result, range(1, publishes + 1), concurrency, text, rate, timeline is not None))
            if timeline is not None:
                timeline.write_text(json.dumps({"size": size, "pairs": result.pairs, "folds": result.folds,
                                                "cpu": result.cpu_samples, "fold_steps": fold_trace.read(trace)}))
            result.cpu.stop()
            folder_after = folder_totals(p)
            result.folded, result.fold_seconds = (a - b for a, b in zip(folder_after, folder_before, strict=True))
            result.live_at_end = series_total(f"http://127.0.0.1:{p.ports.api('trading')}",
                                              "trading_search_live_segment_listings")
            result.drain, result.drained = fold_what_is_left(p, result.cpu.pids)
            result.carried_after = series_total(f"http://127.0.0.1:{p.ports.api('trading')}",
                                                "trading_search_carried_postings")
            result.carried_terms = carried_terms(p)
            asyncio.run(baselines(p, result, publishes, concurrency))
        finally:
            api.stop()
    finally:
        stack.stop()
    return result


# How long the benchmark waits for the folder to merge what a run left in live segments (it folds them
# once no segment has come for `search_fold_idle_seconds`, 5 s by default).
DRAIN_SECONDS = 180
P95_GOAL_SECONDS = 0.1  # issue 10: create + publish p95 < 100 ms
# Issue 10's goal is a p95 under 100 ms while the API answers >= 50 publishes/s to 8 clients: a latency at
# a load. A run without --rate offers more than the stack carries, so its p95 is 8 clients over the
# pairs per second it reached; it says how much the stack carries (>= 50/s), not the latency at 50/s.
SATURATED = "capacity run, not the p95 goal (judged with --rate; `make bench` offers 60/s)"


def fold_what_is_left(p: Profile, pids: dict[str, int]) -> tuple[CpuWatch, bool]:
    """Each process's CPU from the end of the run until no listing is left in a live segment (or
    DRAIN_SECONDS passed: False), so the report can charge the folding the run caused to the run."""
    watch = CpuWatch(pids)
    drained = wait_for_folds(p)
    return watch.stop(), drained


def wait_for_folds(p: Profile) -> bool:
    """Until no listing is left in a live segment (the carry aside), at most DRAIN_SECONDS (False)."""
    base = f"http://127.0.0.1:{p.ports.api('trading')}"
    deadline = time.monotonic() + DRAIN_SECONDS
    while series_total(base, "trading_search_live_segment_listings") > 0:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def carried_terms(p: Profile) -> int:
    """Terms with postings in the live carry segments, from the store (search_store, "batch segments")."""
    mongo: MongoClient[dict[str, Any]] = MongoClient(p.mongo_url, tz_aware=True)
    postings = mongo[f"trading_{p.name}"][search_store.POSTINGS]
    terms: set[str] = set()
    for number in search_store.live_numbers(postings.find_one({"_id": search_store.GENERATION_ID})):
        doc = postings.find_one({"_id": search_store.segment_id(number)})
        segment = None if doc is None else search_store.Segment.of_document(doc)
        if segment is not None and segment.carry:
            terms.update(segment.by_term)
    mongo.close()
    return len(terms)


def folder_totals(p: Profile) -> tuple[float, float]:
    """The API's segment folder so far: listings folded, and seconds its finished runs took (from its
    metrics: a run still going when the run ends counts in neither)."""
    base = f"http://127.0.0.1:{p.ports.api('trading')}"
    return (series_total(base, "trading_search_folded_listings_total"),
            series_total(base, 'trading_background_run_duration_seconds_sum{task="search-segment-folder"}'))


def per_operation_with(run: CpuWatch, after: CpuWatch, operations: int) -> str:
    """Each process's CPU over the run and the drain after it together, per operation of the run."""
    used = {name: run.used.get(name, 0.0) + after.used.get(name, 0.0) for name in run.used}
    count = max(operations, 1)
    busiest = sorted(used.items(), key=lambda kv: -kv[1])
    each = ", ".join(f"{name} {seconds / count * 1000:.1f}" for name, seconds in busiest)
    return f"{each}; together {sum(used.values()) / count * 1000:.1f}"


def ms(values: list[float], key: str) -> str:
    return f"{percentiles(values)[key] * 1000:8.1f}" if len(values) >= 2 else "       -"


def report(results: list[SizeResult], concurrency: int, text: str, rate: float | None = None) -> None:
    pace = (f"offered {rate:g} pairs/s (each timed from when it was due)" if rate
            else "each client as fast as it goes")
    print(f"\nCreate + publish through the trading API, concurrency {concurrency}, {pace}, listing text {text}, "
          f"{datetime.now(UTC):%Y-%m-%d}, one machine")
    head = (f"{'listings':>9} | {'create p50':>10} {'p95':>8} | {'publish p50':>11} {'p95':>8} | "
            f"{'both p50':>8} {'p95':>8} {'p99':>8} | {'publ./s':>7} | {'search delay p50':>16} {'p95':>8} | "
            f"{'bare insert p50':>15} {'_id read p50':>12} | fails")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r.size:>9} | {ms(r.create, 'p50'):>10} {ms(r.create, 'p95')} | {ms(r.publish, 'p50'):>11} "
              f"{ms(r.publish, 'p95')} | {ms(r.both, 'p50')} {ms(r.both, 'p95')} {ms(r.both, 'p99')} | "
              f"{r.rate:7.1f} | {ms(r.visible, 'p50'):>16} {ms(r.visible, 'p95')} | "
              f"{ms(r.bare_insert, 'p50'):>15} {ms(r.bare_read, 'p50'):>12} | {len(r.failures)}")
    print("(milliseconds; search delay: from the publish's answer until the search poller, every 50 ms, "
          "first shows it)")
    p95_lines: list[str] = []  # printed after the growth, one per size
    for r in results:
        if r.publish and r.bare_insert:
            print(f"ratio at {r.size:>7}: publish p50 / bare insert p50 = "
                  f"{statistics.median(r.publish) / statistics.median(r.bare_insert):6.1f}x, "
                  f"create+publish p50 / bare insert p50 = "
                  f"{statistics.median(r.both) / statistics.median(r.bare_insert):6.1f}x")
        if r.cpu and r.publish:
            print(f"CPU at {r.size:>7}, share of one core over the run (ms per create + publish): "
                  + r.cpu.line(len(r.publish)))
        if r.publish:
            print(f"segment folder at {r.size:>7}: {r.folded:.0f} listings folded into the heads during the run, "
                  f"its finished runs took {r.fold_seconds:.1f} s in all; {r.live_at_end:.0f} listings in live "
                  "segments at the end")
        if r.cpu and r.drain and r.publish:
            state = "all folded" if r.drained else f"NOT all folded within {DRAIN_SECONDS} s"
            print(f"after the run at {r.size:>7}, until the folder merged the listings left ({state}; ms per create "
                  f"+ publish of the run): {r.drain.line(len(r.publish))}")
            print(f"CPU at {r.size:>7} with that folding charged to the run, ms per create + publish: "
                  + per_operation_with(r.cpu, r.drain, len(r.publish)))
            # Not charged: the head writes these postings will cost a later fold, one per term at most
            # (search_store, "batch segments"). A run that began with a smaller carry deferred some.
            print(f"carry at {r.size:>7}: {r.carried_before:.0f} postings when the run began; after the drain "
                  f"{r.carried_after:.0f} postings of {r.carried_terms} rare terms wait for a later fold (at most "
                  f"{r.carried_terms} head writes, not charged to the run)")
        for failure in r.failures[:5]:
            print(f"  failure at {r.size}: {failure}")
        if len(r.both) >= 2 and len(r.bare_insert) >= 2:
            bare = percentiles(r.bare_insert)
            both = percentiles(r.both)
            at = f"{r.size}, offered {rate:g}/s" if rate else f"{r.size}"
            record(Figure("publish", f"create+publish p50 ms at {at}", both["p50"] * 1000, "ms",
                          bare["p50"] * 1000, "bare insert p50"))
            if rate:
                met = both["p95"] < P95_GOAL_SECONDS
                record(Figure("publish", f"create+publish p95 ms at {at}", both["p95"] * 1000, "ms",
                              bare["p95"] * 1000, "bare insert p95", "< 100 ms", met))
                p95_lines.append(f"goal at {at}: create + publish p95 < 100 ms: {'met' if met else 'NOT met'}")
            else:
                # As fast as the clients go the stack is saturated and a pair's latency is the clients'
                # count over the pairs per second (Little's law): a capacity figure. The goal's p95 is a
                # latency at the goal's load, judged by a run with --rate (see SATURATED).
                record(Figure("publish", f"create+publish p95 ms at {at}, as fast as {concurrency} clients go",
                              both["p95"] * 1000, "ms", bare["p95"] * 1000, "bare insert p95", SATURATED))
                p95_lines.append(f"at {at}: create + publish p95 {both['p95'] * 1000:.1f} ms as fast as "
                                 f"{concurrency} clients go, at {r.rate:.1f} pairs/s (on average {concurrency} / "
                                 f"{r.rate:.1f} = {concurrency / r.rate * 1000:.0f} ms a pair): {SATURATED}")
            record(Figure("publish", f"publishes/s at {at} (concurrency {concurrency})", r.rate, "1/s",
                          goal=">= 50", met=r.rate >= 50))
        if len(r.visible) >= 2:
            delay = percentiles(r.visible)["p95"]
            record(Figure("publish", f"publish -> search p95 s at {r.size}", delay, "s", goal="< 1 s",
                          met=delay < 1.0))
    small, large = results[0], results[-1]
    if len(results) > 1 and small.publish and large.publish:
        growth = statistics.median(large.publish) / statistics.median(small.publish)
        print(f"growth {small.size} -> {large.size}: publish p50 x{growth:.2f}, create+publish p95 "
              f"x{percentiles(large.both)['p95'] / percentiles(small.both)['p95']:.2f}, bare insert p50 "
              f"x{statistics.median(large.bare_insert) / statistics.median(small.bare_insert):.2f}")
        goals = [
            (">= 50 publishes/s", large.rate >= 50),
            ("publish p50 growth <= 1.5", growth <= 1.5),
            ("publish -> search p95 < 1 s", len(large.visible) >= 2 and percentiles(large.visible)["p95"] < 1.0),
        ]
        for goal, met in goals:
            print(f"goal at {large.size}: {goal}: {'met' if met else 'NOT met'}")
        record(Figure("publish", f"growth of publish p50, {large.size} / {small.size}", growth, "x",
                      goal="<= 1.5", met=growth <= 1.5))
    for line in p95_lines:
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--publishes", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warm-up", type=int, default=0,
                        help="creates + publishes made first, through the same API, and not measured")
    parser.add_argument("--settle", type=int, default=0,
                        help="creates + publishes made through the measured API first, on the loaded catalogue, "
                             "not measured (they stay): brings the carry to a steady state")
    parser.add_argument("--text", choices=TEXTS, default="varied",
                        help="varied: listings drawn like the catalogue's; uniform: all with one text (see TEXTS)")
    parser.add_argument("--rate", type=float, default=None,
                        help="pairs per second offered in the measured phase, at most --concurrency in flight; "
                             "default: each client starts its next pair when its last one answered")
    parser.add_argument("--timeline", type=Path, default=None,
                        help="a diagnostic: write each measured pair's times (due, sent, created, published) and the "
                             "folder's runs to this JSON file (the last size's), for tests.benchmarks.timeline")
    parser.add_argument("--profile", default="bench")
    args = parser.parse_args()
    p = profile(args.profile)
    results = [measure(p, size, args.publishes, args.concurrency, args.warm_up, args.text, args.settle, args.rate,
                       args.timeline) for size in args.sizes]
    report(results, args.concurrency, args.text, args.rate)


if __name__ == "__main__":
    main()
