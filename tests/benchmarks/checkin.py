"""Benchmark (not a test): check-in at the gates and the public feed, through the publicity API, side by
side with a bare `_id` read on the same store in the same process.

It starts the publicity API on a fresh stack of its own and bulk-loads, in the documents the API itself
writes (publicity/public_events/store.py, publicity/feeds/store.py), one event with `--registrations`
confirmed registrations and their tickets, and `--feed-items` published releases with the feed document.
Then:

- check-in: `--gates` simulated gates send `--rate` scans per second in all for `--seconds` seconds
  (each gate its share, paced); about 5% of the scans repeat a ticket another gate already scanned, as
  happens when a visitor tries two gates. It reports latency p50/p95/p99 and the answers: tickets
  answered `ok`, scans answered 503 `outcome-unknown` (or never answered: the client's timeout), 503
  `store-unavailable` (nothing changed) and other errors. Then it retries every scan whose outcome is
  unknown with the same nonce, as a gate would, and verifies that no registration was checked in twice,
  that the check-ins stored equal the event's check-in count (its tally), that every `ok` is stored and
  only a scan of unknown outcome may have landed unseen (ok <= stored <= ok + unknown), and that after
  the retries the tickets answered `ok` are exactly the check-ins stored;
- feed: `--feed-gets` GETs of the Atom feed, p50/p95;
- baseline: a bare `_id` read (pymongo, no HTTP) of a registration and of the feed document.

Goals (issue 12): check-in p99 < 100 ms at 100 scans/s for 60 s from 10 gates against 5,000
registrations, 0 double check-ins; feed GET p95 < 20 ms with 10,000 published items.

    .venv/bin/python -m tests.benchmarks.checkin [--registrations 5000 --rate 100 --seconds 60 --gates 10
                                                 --feed-items 10000 --feed-gets 500 --profile bench]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import httpx
from devstack.components import FERRETDB_SYNCHRONOUS_ENV
from devstack.layout import Profile, profile
from pymongo import AsyncMongoClient, InsertOne, MongoClient

from tests.benchmarks.client import SLOTS, session
from tests.benchmarks.cpu import CpuWatch, taking_part
from tests.benchmarks.search import percentiles
from tests.benchmarks.summary import Figure, record
from tests.support.stack import fresh_infrastructure, start_service, token

ORGANISER = "bench-organiser"
EVENT_ID = "EV-bench0000000000"


def load(p: Profile, registrations: int, feed_items: int) -> list[str]:
    """The event, its registrations and tickets, and the published releases with the feed document, as
    the API writes them. Returns the ticket codes."""
    db: Any = MongoClient(p.mongo_url, tz_aware=True)[f"publicity_{p.name}"]
    now = datetime.now(UTC)
    starts = now + timedelta(hours=1)
    ids = [secrets.token_urlsafe(18) for _ in range(registrations)]
    tickets = [secrets.token_urlsafe(12) for _ in range(registrations)]
    db["public_events"].insert_one({
        "_id": EVENT_ID, "title": "Benchmark event", "description": "", "venue": "Bench Hall", "region_code": "210100",
        "starts_at": starts, "ends_at": starts + timedelta(hours=3), "capacity": registrations, "campaign_id": None,
        "organisers": [ORGANISER], "next_seq": registrations + 1,
        "registrations": {rid: {"places": 1, "state": "confirmed", "seq": n + 1} for n, rid in enumerate(ids)},
        "counts": {"confirmed": registrations, "waitlisted": 0, "registrations": registrations},
        "version": 1, "created_by": ORGANISER, "created_at": now, "updated_at": now,
        "creation_key": f"auto:{uuid.uuid4()}", "creation_fingerprint": ""})
    bulk_write_in_batches_sync(db["registrations"], [InsertOne({
        "_id": rid, "event_id": EVENT_ID, "places": 1, "name": f"Visitor {n}", "email": f"v{n}@example.cn",
        "phone": None, "ticket_code": tickets[n], "state": "confirmed", "checked_in": None, "created_at": now,
        "version": 2,
        "creation_key": f"auto:{uuid.uuid4()}", "creation_fingerprint": ""}) for n, rid in enumerate(ids)])
    bulk_write_in_batches_sync(db["tickets"], [InsertOne({"_id": t, "registration_id": rid, "event_id": EVENT_ID})
                                               for t, rid in zip(tickets, ids, strict=True)])
    releases: list[dict[str, Any]] = []
    for n in range(feed_items):
        at = now - timedelta(minutes=feed_items - n)
        public = {"title": f"新闻 {n}", "summary": "摘要", "body": "正文。" * 40, "title_en": f"News {n}",
                  "summary_en": None, "body_en": "Body. " * 40, "campaign_id": None, "edition": 1,
                  "first_published_at": at, "updated_at": at, "change_note": None, "withdrawn": None}
        releases.append({"_id": f"PR-bench{n:010d}", "kind": "press_release", "origin": "officer", "milestone": None,
                         "state": "published", "edition": 1, "content": {k: public[k] for k in (
                             "title", "summary", "body", "title_en", "summary_en", "body_en", "campaign_id")},
                         "change_note": None, "submitted_by": "a", "scheduled_for": None, "forced": None,
                         "public": public, "public_listed": True, "public_updated_at": at, "history": [],
                         "version": 3, "created_by": "a", "created_at": at, "updated_at": at,
                         "creation_key": f"auto:{uuid.uuid4()}", "creation_fingerprint": ""})
    bulk_write_in_batches_sync(db["releases"], [InsertOne(r) for r in releases])
    newest = sorted(releases, key=lambda r: r["public_updated_at"], reverse=True)[:100]
    db["public_feed"].replace_one({"_id": "news"}, {"_id": "news", "items": [
        {"_id": r["_id"], "kind": r["kind"], "public": r["public"], "public_updated_at": r["public_updated_at"]}
        for r in newest]}, upsert=True)
    db["public_feed"].replace_one({"_id": "news-revision"}, {"_id": "news-revision", "revision": uuid.uuid4().hex},
                                  upsert=True)
    return tickets


def bulk_write_in_batches_sync(collection: Any, operations: list[Any]) -> None:
    # The same batch bound as servicekit.mongo.bulk_write_in_batches (FerretDB 1.24 hangs on an update
    # command of 100 statements or more), for the synchronous client.
    step = 32
    for start in range(0, len(operations), step):
        collection.bulk_write(operations[start:start + step], ordered=False)


Answer = dict[str, Any]


async def gates(p: Profile, tickets: list[str], rate: float, seconds: float, gate_count: int
                ) -> tuple[list[float], list[float], list[Answer], list[dict[str, Any]], dict[str, int]]:
    """The scans: (latencies of every answered request from when it was sent, the same from when it was
    due, `ok`/other outcome answers, the bodies of scans whose outcome is unknown, error counts by kind)."""
    url = f"http://127.0.0.1:{p.ports.api('publicity')}/v1/events/{EVENT_ID}/scans"
    headers = {"Authorization": f"Bearer {token(p, ORGANISER, 'officer')}"}
    total = int(rate * seconds)
    order = random.sample(tickets, min(total, len(tickets)))
    plan: list[str] = []
    for n in range(total):  # ~5% repeat a ticket scanned before (another gate, usually)
        plan.append(random.choice(plan) if plan and random.random() < 0.05 else order[n % len(order)])
    latencies: list[float] = []
    from_due: list[float] = []
    answers: list[Answer] = []
    unknown: list[dict[str, Any]] = []
    # At most as many scans at once as the client has connections (tests/benchmarks/client.py). A scan
    # waiting for a slot is also timed from when it was due.
    slots = asyncio.Semaphore(SLOTS)
    errors: dict[str, int] = {}
    started = time.perf_counter()

    def failed(kind: str, body: dict[str, Any] | None) -> None:
        errors[kind] = errors.get(kind, 0) + 1
        if body is not None:
            unknown.append(body)

    async def gate(g: int, session: aiohttp.ClientSession) -> None:
        mine = plan[g::gate_count]
        interval = gate_count / rate
        pending: list[asyncio.Task[None]] = []

        async def one(ticket: str, due: float) -> None:
            body = {"ticket_code": ticket, "nonce": uuid.uuid4().hex, "device_id": f"gate-{g}", "gate": f"gate-{g}",
                    "scanned_at": datetime.now(UTC).isoformat()}
            async with slots:
                t0 = time.perf_counter()
                try:
                    async with session.post(url, json=body, headers=headers) as response:
                        status, content_type = response.status, response.headers.get("content-type", "")
                        answer = await response.json(content_type=None)
                except (aiohttp.ClientError, TimeoutError) as exc:  # no answer: the scan may have landed
                    failed(f"no answer ({type(exc).__name__})", body)
                    return
            done = time.perf_counter()
            latencies.append(done - t0)
            from_due.append(done - due)
            if status in (200, 201):
                answers.append({**answer, "ticket": ticket})
                return
            kind = str(answer.get("type", "")).rsplit("/", 1)[-1] if content_type.startswith(
                "application/problem+json") else ""
            label = f"{status} {kind}".strip()
            landed_maybe = kind == "outcome-unknown" or (status >= 500 and kind != "store-unavailable")
            failed(label, body if landed_maybe else None)
            if kind not in ("outcome-unknown", "store-unavailable"):
                print(f"  scan answered {status}: {str(answer)[:200]}")

        for n, ticket in enumerate(mine):
            due = started + g * (interval / gate_count) + n * interval
            await asyncio.sleep(max(due - time.perf_counter(), 0))
            pending.append(asyncio.create_task(one(ticket, due)))
        await asyncio.gather(*pending)

    # The client's CPU shares the cores with the API and the store it times (real gates are other
    # devices): with httpx it took 5-6 ms of CPU per scan, a third of all a scan cost (tests/benchmarks/client.py).
    async with session() as client:
        await asyncio.gather(*(gate(g, client) for g in range(gate_count)))
    return latencies, from_due, answers, unknown, errors


async def retry_unknown(p: Profile, bodies: list[dict[str, Any]]) -> list[Answer]:
    """Each scan of unknown outcome again, with its nonce, one at a time (a gate's retry)."""
    url = f"http://127.0.0.1:{p.ports.api('publicity')}/v1/events/{EVENT_ID}/scans"
    headers = {"Authorization": f"Bearer {token(p, ORGANISER, 'officer')}"}
    out: list[Answer] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for body in bodies:
            for _attempt in range(5):
                response = await client.post(url, json=body, headers=headers)
                if response.status_code in (200, 201):
                    out.append({**response.json(), "ticket": body["ticket_code"]})
                    break
                await asyncio.sleep(1)
            else:
                raise SystemExit(f"a retried scan still fails: {response.status_code} {response.text[:200]}")
    return out


async def feed_gets(p: Profile, count: int) -> list[float]:
    url = f"http://127.0.0.1:{p.ports.api('publicity')}/v1/feeds/news.atom"
    out = []
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(count):
            t0 = time.perf_counter()
            response = await client.get(url)
            out.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.text
    return out


async def bare_reads(p: Profile, ids: list[str], count: int) -> tuple[list[float], list[float]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(p.mongo_url)
    db = client[f"publicity_{p.name}"]
    registration, feed = [], []
    for n in range(count):
        t0 = time.perf_counter()
        await db["tickets"].find_one({"_id": ids[n % len(ids)]})
        registration.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await db["public_feed"].find_one({"_id": "news"})
        feed.append(time.perf_counter() - t0)
    await client.close()
    return registration, feed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registrations", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=100.0, help="scans per second, all gates together")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--gates", type=int, default=10)
    parser.add_argument("--feed-items", type=int, default=10_000)
    parser.add_argument("--feed-gets", type=int, default=500)
    parser.add_argument("--profile", default="bench")
    args = parser.parse_args()
    p = profile(args.profile)
    stack = fresh_infrastructure(p)
    try:
        print(f"loading {args.registrations} registrations and {args.feed_items} published releases ...")
        tickets = load(p, args.registrations, args.feed_items)
        api = start_service(p, "publicity", "api")
        try:
            # Every process that takes part, so the report says where the cores went during the scans.
            cpu = CpuWatch(taking_part([*stack.started, api]))
            latencies, from_due, answers, unknown, errors = asyncio.run(
                gates(p, tickets, args.rate, args.seconds, args.gates))
            cpu.stop()
            mongo: Any = MongoClient(p.mongo_url)[f"publicity_{p.name}"]
            counted_before = tally(mongo)
            stored_before = mongo["registrations"].count_documents({"checked_in": {"$ne": None}})
            retried = asyncio.run(retry_unknown(p, unknown))
            feed = asyncio.run(feed_gets(p, args.feed_gets))
            bare_ticket, bare_feed = asyncio.run(bare_reads(p, tickets, max(args.feed_gets, 200)))
        finally:
            api.stop()
        counted = tally(mongo)
        checked = mongo["registrations"].count_documents({"checked_in": {"$ne": None}})
    finally:
        stack.stop()

    def ok_tickets(of: list[Answer]) -> dict[str, int]:
        per_ticket: dict[str, int] = {}
        for a in of:
            if a["outcome"] == "ok":
                per_ticket[a["ticket"]] = per_ticket.get(a["ticket"], 0) + 1
        return per_ticket

    ok_per_ticket = ok_tickets(answers)
    ok_after = ok_tickets(answers + retried)
    doubles = sum(n - 1 for n in ok_after.values() if n > 1)
    distinct = len({a["ticket"] for a in answers})
    unknown_count = len(unknown)
    scan = percentiles(latencies)
    served = percentiles(feed)
    bare = percentiles(bare_ticket)
    bare_f = percentiles(bare_feed)
    print(f"\nCheck-in through the publicity API, {datetime.now(UTC):%Y-%m-%d}, one machine: {len(latencies)} scans "
          f"from {args.gates} gates at {args.rate:g}/s for {args.seconds:g} s against {args.registrations} "
          f"registrations ({sum(errors.values())} errors); store: FerretDB, SQLite synchronous="
          f"{os.environ.get(FERRETDB_SYNCHRONOUS_ENV, 'normal')}")
    print(f"  scan          p50 {scan['p50'] * 1000:7.1f} ms  p95 {scan['p95'] * 1000:7.1f} ms  "
          f"p99 {scan['p99'] * 1000:7.1f} ms")
    due = percentiles(from_due)
    print(f"  scan from due p50 {due['p50'] * 1000:7.1f} ms  p95 {due['p95'] * 1000:7.1f} ms  "
          f"p99 {due['p99'] * 1000:7.1f} ms  (including any wait for one of the client's 64 slots)")
    print(f"  bare _id read p50 {bare['p50'] * 1000:7.1f} ms  p95 {bare['p95'] * 1000:7.1f} ms  "
          f"p99 {bare['p99'] * 1000:7.1f} ms")
    print(f"  ratio scan / bare read: p50 x{scan['p50'] / bare['p50']:.1f}, p99 x{scan['p99'] / bare['p99']:.1f}")
    scans_sent = max(len(latencies), 1)
    print("  CPU during the scans (share of one core; ms per scan): " + cpu.line(scans_sent))
    print(f"  answers: {len(answers)} scans answered (tickets answered ok {len(ok_per_ticket)}, distinct tickets "
          f"{distinct}); errors: {dict(sorted(errors.items())) or 'none'}; outcome unknown (503 outcome-unknown "
          f"or no answer) {unknown_count}")
    print(f"  check-ins at the end of the run: stored {stored_before}, counted {counted_before}; "
          f"ok {len(ok_per_ticket)} <= stored <= ok + unknown {len(ok_per_ticket) + unknown_count}: "
          f"{'yes' if len(ok_per_ticket) <= stored_before <= len(ok_per_ticket) + unknown_count else 'NO'}")
    print(f"  after retrying the {unknown_count} unknown with their nonces: {len(retried)} answered "
          f"({sum(1 for a in retried if a['outcome'] == 'ok')} ok); tickets answered ok {len(ok_after)}, "
          f"stored {checked}, counted {counted}; double check-ins: {doubles}; "
          f"goal p99 < 100 ms (from due): {'met' if due['p99'] < 0.1 else 'not met'}")
    print(f"\nAtom feed GET with {args.feed_items} published items: p50 {served['p50'] * 1000:.1f} ms, "
          f"p95 {served['p95'] * 1000:.1f} ms; bare _id read of the feed document p50 {bare_f['p50'] * 1000:.1f} ms, "
          f"p95 {bare_f['p95'] * 1000:.1f} ms; ratio p95 x{served['p95'] / bare_f['p95']:.1f}; "
          f"goal p95 < 20 ms: {'met' if served['p95'] < 0.02 else 'not met'}")
    record(Figure("checkin", "scan p99 ms (from due)", due["p99"] * 1000, "ms", baseline=bare["p99"] * 1000,
                  baseline_name="bare _id read p99", goal="< 100 ms", met=due["p99"] < 0.1))
    record(Figure("checkin", "double check-ins", float(doubles), "", goal="0", met=doubles == 0))
    record(Figure("checkin", "feed GET p95 ms", served["p95"] * 1000, "ms", baseline=bare_f["p95"] * 1000,
                  baseline_name="bare _id read of the feed p95", goal="< 20 ms", met=served["p95"] < 0.02))
    if (doubles or counted != checked or counted_before != stored_before or checked != len(ok_after)
            or not len(ok_per_ticket) <= stored_before <= len(ok_per_ticket) + unknown_count):
        raise SystemExit("double, lost or uncounted check-ins: see the figures above")


def tally(mongo: Any) -> int:
    """The event's check-in count as the API keeps it (publicity.public_events.store: a tally)."""
    doc = mongo["tallies"].find_one({"_id": f"event:{EVENT_ID}"}) or {}
    return int(doc.get("check_ins", 0))


if __name__ == "__main__":
    main()
