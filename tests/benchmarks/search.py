"""Benchmark (not a test): listing search through the API with 100,000 published listings.

Runs its own stack on the `bench` profile (FerretDB, Kafka, the trading API), bulk-loads 100,000
published listings straight into the listings collection and the search read model (insert_many of
documents built in memory by the same code the API uses: listing_terms, postings_for_bulk_load), then
times varied typical queries through the HTTP API twice: with the API's read-model cache off (every
search reads FerretDB) and on (the default). Side by side, in the same run:

- floor: a bare FerretDB `{_id: value}` read of one listing (pymongo, no HTTP): the cheapest read
  the store can do; every search costs some multiple of it;
- naive: the same kind of query as a plain filter on the listings collection (status, a title word, a
  city, sort, limit), which FerretDB 1.x evaluates by scanning every document in Go.

With `--publish N` it then creates and publishes N more listings through the API, drawn like the loaded
ones, and waits until they are folded, before any search is timed: the loader builds the state a folder
leaves with no carry, and the API's own writes leave rare terms' newest postings in a carry segment
(search_store, "batch segments") that every search then merges too.

It prints p50/p95/p99 per query and overall, and the ratios. Goal: typical query p95 < 50 ms.

    .venv/bin/python -m tests.benchmarks.search [--listings 100000] [--rounds 30] [--publish 6000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from devstack.layout import Profile, profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient
from servicekit import lookups
from trading.listings.aggregate import LISTING
from trading.listings.search_store import (
    COUNTERS,
    GENERATION_ID,
    POSTINGS,
    SEQ_ID,
    STATUS_COUNTS_ID,
    card_id,
    live_numbers,
    postings_for_bulk_load,
)
from trading.patents.identifiers import application_check_character

from tests.benchmarks.client import session
from tests.benchmarks.cpu import CpuWatch
from tests.benchmarks.summary import Figure, record
from tests.support.stack import fresh_infrastructure, series_total, start_service

# A small technical vocabulary: titles and abstracts are drawn from it, so common and rare words exist.
WORDS = (  # noqa: SIM905 - one readable block of words
    "锂离子 电池 隔膜 正极 负极 材料 电解液 储能 光伏 组件 逆变器 风电 叶片 氢能 燃料电池 催化剂 石墨烯 "
    "碳纤维 复合材料 涂层 陶瓷 合金 钢铁 冶炼 轧制 焊接 机器人 数控 机床 轴承 齿轮 减速器 传感器 芯片 半导体 "
    "封装 集成电路 显示 面板 通信 天线 射频 算法 图像 识别 无人机 自动驾驶 导航 雷达 激光 光学 镜头 医疗 器械 "
    "药物 疫苗 抗体 基因 检测 试剂 中药 提取 发酵 农业 种子 育种 灌溉 肥料 食品 保鲜 包装 化工 聚合物 塑料 "
    "橡胶 炼油 石化 管道 阀门 泵 压缩机 换热器 锅炉 节能 环保 污水 处理 脱硫 除尘 固废 回收 建筑 混凝土 桥梁 "
    "隧道 船舶 海洋 港口 物流 仓储 纺织 服装 家具 智能 控制 系统 方法 装置 结构 工艺 设备 模块 平台"
).split()
IPC = ("H01M 10/0525", "H01M 4/505", "H01M 8/10", "H02J 7/00", "H02S 40/32", "F03D 1/06", "C01B 32/184",
       "C08J 5/04", "C23C 14/34", "B22F 3/105", "B23K 26/38", "B25J 9/16", "G05B 19/418", "F16C 33/58",
       "F16H 1/32", "G01N 21/64", "H01L 21/02", "H01L 23/31", "G06F 18/24", "G06T 7/00", "G06N 3/08",
       "H04W 72/04", "H01Q 1/38", "B64C 39/02", "G01S 13/93", "A61B 5/00", "A61K 31/4745", "A61K 39/12",
       "C12N 15/11", "C12Q 1/68", "A01H 1/02", "A01G 25/02", "C05G 3/00", "A23L 3/3463", "B65D 81/28",
       "C08F 210/16", "C10G 45/02", "F16K 1/42", "F04B 39/00", "F28D 7/16", "F22B 37/02", "C02F 9/00",
       "B01D 53/50", "B09B 3/00", "E04B 1/98", "E01D 19/00", "B63B 35/44", "D01F 6/62", "A47B 13/00")
INDUSTRIES = ("equipment_manufacturing", "new_materials", "new_energy", "electronics_information", "biomedicine",
              "petrochemicals", "agriculture_food", "energy_saving_environment", "other")
REGIONS = ("210100", "210102", "210200", "210211", "210300", "210400", "210500", "210600", "210700", "210800",
           "211100", "211200", "110000", "310000", "320500", "440300")
DEALS = ("assignment", "exclusive_licence", "sole_licence", "ordinary_licence", "open_licence")

CITIES = ("210100", "210200", "210300", "210400", "211100", "211200")


# The timed queries' seed, and the cache warm-up's (other queries of the same kinds).
QUERY_SEED = 426
WARM_UP_SEED = 427


def typical_queries(rounds: int, seed: int = QUERY_SEED) -> list[tuple[str, dict[str, Any]]]:
    """`rounds` instances of each kind of query a fair visitor makes, with varied values."""
    rng = random.Random(seed)
    kinds: dict[str, Any] = {
        "keyword": lambda: {"q": rng.choice(WORDS)},
        "two keywords": lambda: {"q": " ".join(rng.sample(WORDS, 2))},
        "keyword + city": lambda: {"q": rng.choice(WORDS), "region": rng.choice(CITIES)},
        "IPC subclass + deal": lambda: {"ipc": rng.choice(IPC)[:4], "deal_type": rng.choice(DEALS)},
        "IPC group + province": lambda: {"ipc": rng.choice(IPC).split("/")[0], "region": "210000"},
        "industry + price range": lambda: (lambda low: {"industry": rng.choice(INDUSTRIES), "price_min": low,
                                                        "price_max": low * 10})(10 ** rng.randint(5, 8)),
        "everything, newest": lambda: {},
        "keyword, price ascending": lambda: {"q": rng.choice(WORDS), "sort": "price_asc"},
        "deal + price desc": lambda: {"deal_type": rng.choice(DEALS), "sort": "price_desc"},
        "3 filters": lambda: {"q": rng.choice(WORDS), "region": rng.choice(CITIES), "deal_type": rng.choice(DEALS)},
    }
    return [(name, make()) for _ in range(rounds) for name, make in kinds.items()]


def drawn_offer(rng: random.Random) -> dict[str, Any]:
    """What varies between the catalogue's listings, drawn from the vocabulary and mixes above: title,
    abstract, deal types (a tenth open licences), price (15% negotiable), filing year, IPC codes,
    industry and region. The bulk-loaded catalogue (`generate`) and the listings the publish benchmark
    creates through the API both come from here, so what is published looks like what it is published
    into: each listing carries some 40 of the catalogue's 10,400 search terms, as real titles and
    abstracts spread over a large vocabulary. (The draws keep the order they always had: `generate` with a seed loads
    the same catalogue as before this was a function.)"""
    title = "".join(rng.sample(WORDS, 3)) + rng.choice(("方法", "装置", "系统"))
    abstract = "一种" + "".join(rng.sample(WORDS, 6)) + "\uff0c提高" + rng.choice(WORDS) + "性能。"
    deals = sorted(set(rng.sample(DEALS[:4], rng.randint(1, 2))))
    if rng.random() < 0.1:
        deals = ["open_licence", "ordinary_licence"]
    price = None if rng.random() < 0.15 else int(10 ** rng.uniform(5, 10)) // 100 * 100
    filing_year = rng.randint(2010, 2024)
    return {"title": title, "abstract": abstract, "deal_types": deals, "price_fen": price, "filing_year": filing_year,
            "ipc_codes": rng.sample(IPC, rng.randint(1, 2)), "industry": rng.choice(INDUSTRIES),
            "region_code": rng.choice(REGIONS),
            "open_licence_terms": "3% of net sales" if "open_licence" in deals else None}


def generate(count: int, seed: int = 26) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    expires = (date.today() + timedelta(days=3000)).isoformat()
    docs = []
    for i in range(count):
        offer = drawn_offer(rng)
        serial = f"{offer.pop('filing_year')}1{i:07d}"
        doc: dict[str, Any] = {
            "_id": f"lst-{i:020x}", "application_number": serial + application_check_character(serial),
            "patent_kind": "invention", "title": offer["title"], "abstract": offer["abstract"],
            "ipc_codes": offer["ipc_codes"], "locarno_classes": [],
            "owner_organisation_id": "91210200MA0BENCH0X", "co_owner_organisation_ids": [],
            "agent_organisation_id": None, "industry": offer["industry"], "region_code": offer["region_code"],
            "legal_status": "granted", "expires_on": expires, "deal_types": offer["deal_types"],
            "price_fen": offer["price_fen"], "open_licence_terms": offer["open_licence_terms"],
            "status": "published", "version": 2, "created_at": now, "updated_at": now, "published_at": now,
            "creation_key": f"bench:{i}", "creation_fingerprint": "bench", "search_pending": False,
        }
        docs.append(doc)
    return docs


def load(p: Profile, count: int) -> None:
    started = time.perf_counter()
    docs = generate(count)
    mongo: MongoClient[dict[str, Any]] = MongoClient(p.mongo_url, tz_aware=True)
    db = mongo[f"trading_{p.name}"]
    db["listings"].drop()
    db[POSTINGS].drop()
    for start in range(0, len(docs), 2000):
        db["listings"].insert_many(docs[start:start + 2000], ordered=False)
    # Filed in load order: the search seq of listing i is i + 1 (the API numbers publications from 1).
    postings = postings_for_bulk_load([(doc, i + 1) for i, doc in enumerate(docs)])
    for start in range(0, len(postings), 2000):
        db[POSTINGS].insert_many(postings[start:start + 2000], ordered=False)
    db[POSTINGS].insert_one({"_id": SEQ_ID, "n": count})
    # The list lookups the API keeps with every create (servicekit.lookups): "my listings" by organisation.
    db[lookups.LOOKUPS].drop()
    members = [(name, key, doc["_id"]) for doc in docs for name, keys in LISTING.memberships(doc).items()
               for key in keys]
    lookup_docs = lookups.documents_for(members)
    for start in range(0, len(lookup_docs), 500):
        db[lookups.LOOKUPS].insert_many(lookup_docs[start:start + 500], ordered=False)
    # What the API's indexer keeps: the status counts (every loaded listing is published and counted).
    db[COUNTERS].replace_one({"_id": STATUS_COUNTS_ID}, {"counts": {"published": count}}, upsert=True)
    mongo.close()
    print(f"loaded {count} listings and {len(postings)} read-model documents in "
          f"{time.perf_counter() - started:.0f}s")


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "p99": q[98]}


def line(name: str, values: list[float]) -> dict[str, float]:
    stats = percentiles(values)
    print(f"{name:<32} n={len(values):<5} " + "  ".join(f"{k}={v * 1000:7.1f} ms" for k, v in stats.items()))
    return stats


async def through_api(p: Profile, queries: list[tuple[str, dict[str, Any]]]) -> dict[str, list[float]]:
    url = f"http://127.0.0.1:{p.ports.api('trading')}/v1/listings"
    timings: dict[str, list[float]] = {name: [] for name, _ in queries}
    timings["next page (cursor)"] = []
    found = 0
    # The client's own work falls inside every timed request (tests/benchmarks/client.py: why aiohttp);
    # the bare HTTP round trip below shows what is left of it.
    async with session(60) as client:
        async with client.get(url) as first:  # connection open, process warm
            assert first.status == 200
        for name, params in queries:
            t0 = time.perf_counter()
            async with client.get(url, params=params) as response:
                page = await response.json()
                timings[name].append(time.perf_counter() - t0)
                assert response.status == 200, page
            found += len(page["items"])
            cursor = page["next_cursor"]
            if cursor and name in ("keyword", "everything, newest"):
                t0 = time.perf_counter()
                async with client.get(url, params={**params, "cursor": cursor}) as response:
                    await response.read()
                    timings["next page (cursor)"].append(time.perf_counter() - t0)
                    assert response.status == 200
    print(f"  ({len(queries)} queries returned {found} items in all)")
    return timings


async def bare_http(p: Profile, count: int) -> list[float]:
    """The floor of any request through the API with this client: GET /healthz (no store, no auth)."""
    url = f"http://127.0.0.1:{p.ports.api('trading')}/healthz"
    values = []
    async with session(60) as client:
        for _ in range(count):
            t0 = time.perf_counter()
            async with client.get(url) as response:
                await response.read()
            values.append(time.perf_counter() - t0)
    return values


def report(title: str, timings: dict[str, list[float]]) -> dict[str, float]:
    print(f"\n{title}")
    every: list[float] = []
    for name, values in timings.items():
        line(f"  {name}", values)
        every += values
    return line("all typical queries (API)", every)


def floor(p: Profile, rounds: int) -> list[float]:
    mongo: MongoClient[dict[str, Any]] = MongoClient(p.mongo_url, tz_aware=True)
    listings = mongo[f"trading_{p.name}"]["listings"]
    values = []
    for i in range(rounds * 10):
        t0 = time.perf_counter()
        listings.find_one({"_id": f"lst-{(i * 7919) % 100_000:020x}"})
        values.append(time.perf_counter() - t0)
    mongo.close()
    return values


def naive(p: Profile, rounds: int) -> list[float]:
    """The keyword query as a plain filter on the listings' own term array (a scan on FerretDB)."""
    mongo: MongoClient[dict[str, Any]] = MongoClient(p.mongo_url, tz_aware=True, socketTimeoutMS=120_000)
    listings = mongo[f"trading_{p.name}"]["listings"]
    values = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        list(listings.find({"status": "published", "title": {"$regex": "电池"}, "region_code": {"$regex": "^2102"}},
                           {"title": 1}).sort("_id", -1).limit(20))
        values.append(time.perf_counter() - t0)
    mongo.close()
    return values


def settled_api(p: Profile, **overrides: str) -> ManagedProcess:
    """The trading API, once each of its background tasks has run once (their start-up work is not
    what this benchmark measures)."""
    api = start_service(p, "trading", "api", **overrides)
    url = f"http://127.0.0.1:{p.ports.api('trading')}/metrics"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        finished = {line.split('task="')[1].split('"')[0] for line in httpx.get(url, timeout=30).text.splitlines()
                    if line.startswith("trading_background_runs_total{") and float(line.split()[-1]) >= 1}
        if {"search-indexer", "deals-sweep"} <= finished:
            return api
        time.sleep(1)
    api.stop()
    raise SystemExit("the trading API's first background runs did not finish within 10 minutes")


def prove_bulk_load_matches_api(p: Profile, sample: int = 40) -> None:
    """The bulk loader must leave the store as the API would. Publish `sample` listings through the
    API (its indexer files them), then rebuild their read model with the loader's own function from
    the listings as the API stored them, and compare document by document: postings, heads, cards.
    The loader writes what the API's segment folder leaves (no live segment) when it carries nothing, so
    that API folds every segment as soon as it is written, with no carry (`search_carry_below` 1), and
    the comparison waits for it. (With the carry on, at most CARRY_BELOW - 1 of a rare term's newest
    postings would wait in one more segment instead of its head: searches merge them the same way.)"""
    from tests.benchmarks.publish import ORGANISATION, listing_body, prepare, verified_patents
    from tests.support.stack import token

    prepare(p, 0)
    asyncio.run(verified_patents(p, range(900_000, 900_000 + sample)))
    api = settled_api(p, search_fold_listings="1", search_carry_below="1")
    try:
        base = f"http://127.0.0.1:{p.ports.api('trading')}/v1/listings"
        headers = {"Authorization": f"Bearer {token(p, 'bench-proof', 'participant', org=ORGANISATION)}"}
        rng = random.Random(7)
        for i in range(sample):
            body = {**listing_body(900_000 + i, f"zq{i:04d}", "uniform"),
                    "title": "".join(rng.sample(WORDS, 3)) + "装置",
                    "price_fen": None if i % 7 == 0 else rng.randint(1, 10 ** 6) * 100,
                    "deal_types": sorted(rng.sample(DEALS[:4], 2))}
            created = httpx.post(base, json=body, headers=headers, timeout=30)
            assert created.status_code == 201, created.text
            published = httpx.post(f"{base}/{created.json()['id']}/publication", timeout=30,
                                   headers={**headers, "If-Match": created.headers["ETag"]})
            assert published.status_code == 200, published.text
        mongo: MongoClient[dict[str, Any]] = MongoClient(p.mongo_url, tz_aware=True)
        db = mongo[f"trading_{p.name}"]
        deadline = time.monotonic() + 60
        while (db["listing_search_pending"].count_documents({})
               or live_numbers(db[POSTINGS].find_one({"_id": GENERATION_ID}))) and time.monotonic() < deadline:
            time.sleep(0.2)
        listings = list(db["listings"].find({}))
        filed = {d["_id"]: d for d in db[POSTINGS].find({"_id": {"$in": [card_id(d["_id"]) for d in listings]}})}
        seqs = [(filed.get(card_id(d["_id"])) or {}).get("seq") for d in listings]
        assert len(listings) == sample and all(seqs), "the indexer filed them"
        expected = {d["_id"]: d for d in postings_for_bulk_load(
            [(d, int(seq)) for d, seq in zip(listings, seqs, strict=True) if seq])}
        stored = {d["_id"]: d for d in db[POSTINGS].find({"_id": {"$in": list(expected)}})}
        def plain(value: Any) -> Any:  # bson's Binary never equals the bytes the driver returns for it
            return bytes(value) if isinstance(value, bytes) else value

        differing = [k for k, v in expected.items()
                     if {f: plain(v[f]) for f in v if f != "_id"}
                     != {f: plain(stored.get(k, {}).get(f)) for f in v if f != "_id"}]
        counts = db[COUNTERS].find_one({"_id": STATUS_COUNTS_ID}) or {}
        # The list lookups too: what the loader would write for these listings is what the API wrote.
        expected_lookups = {d["_id"]: d for d in lookups.documents_for(
            (name, key, doc["_id"]) for doc in listings for name, keys in LISTING.memberships(doc).items()
            for key in keys)}
        stored_lookups = {d["_id"]: d for d in db[lookups.LOOKUPS].find({"_id": {"$in": list(expected_lookups)}})}
        mongo.close()
        assert stored_lookups == expected_lookups, "bulk-loaded lookups differ from the API's"
        assert not differing, f"bulk-loaded read model differs from the API's for {len(differing)} documents"
        assert {k: v for k, v in (counts.get("counts") or {}).items() if v} == {"published": sample}, counts
        print(f"proof: {sample} listings published through the API have exactly the read model the bulk "
              f"loader builds ({len(expected)} read-model and {len(expected_lookups)} lookup documents compared)")
    finally:
        api.stop()


def publish_through_api(p: Profile, count: int) -> None:
    """Create and publish `count` more listings through the API (drawn like the loaded ones, 8 at a
    time, as the publish benchmark does) and wait until its folder has merged them: the catalogue then
    holds what only the API writes, a carry segment of rare terms' newest postings among them (search_store,
    "batch segments"), which searches merge like any segment's."""
    from tests.benchmarks.publish import SizeResult, drive, project_organisation, wait_for_folds

    project_organisation(p)
    api = settled_api(p)
    try:
        filed = SizeResult(count)
        asyncio.run(drive(p, filed, range(1, count + 1), 8, "varied"))
        if filed.failures:
            raise SystemExit(f"{len(filed.failures)} of {count} creates + publishes failed: {filed.failures[:3]}")
        if not wait_for_folds(p):
            raise SystemExit("the API's folder did not merge the published listings' segments in time")
        base = f"http://127.0.0.1:{p.ports.api('trading')}"
        print(f"published {count} listings through the API in {filed.elapsed:.0f} s, all folded; "
              f"{series_total(base, 'trading_search_carried_postings'):.0f} postings wait in the carry")
    finally:
        api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30, help="times each query runs")
    parser.add_argument("--naive-rounds", type=int, default=2, help="plain-filter runs (each scans everything)")
    parser.add_argument("--publish", type=int, default=0,
                        help="listings then created and published through the API, folded before searching")
    parser.add_argument("--profile", default="bench")
    args = parser.parse_args()
    catalogue = f"{args.listings} listings" + (f" + {args.publish} through the API" if args.publish else "")

    p = profile(args.profile)
    stack = fresh_infrastructure(p)
    procs = []
    queries = typical_queries(args.rounds)
    try:
        prove_bulk_load_matches_api(p)
        load(p, args.listings)
        if args.publish:
            publish_through_api(p, args.publish)
        # Nothing is written while searching: the outbox relay (whose safety-net sweep still reads the
        # listings, see tests/stack/store_scans.py) is off.
        quiet = {"outbox_relay_enabled": "false"}
        machine = CpuWatch({})
        procs.append(settled_api(p, search_cache_mb="0", **quiet))
        cold = asyncio.run(through_api(p, queries))
        procs.pop().stop()
        procs.append(settled_api(p, **quiet))
        # The cache's steady state: warmed by as many other typical queries (another seed: the same
        # kinds, other words, cities and deal types), not by the very queries then timed; the first
        # pass after a start, every block a first touch, is printed too.
        first_pass = asyncio.run(through_api(p, typical_queries(args.rounds, seed=WARM_UP_SEED)))
        warm = asyncio.run(through_api(p, queries))
        base = floor(p, args.rounds)
        http_floor = asyncio.run(bare_http(p, args.rounds * 10))
        scan = naive(p, args.naive_rounds)
        machine.stop()
        print(f"\nSearch over {catalogue}, all published: {len(queries)} varied queries "
              f"({args.rounds} of each kind), through the API")
        c = report("cache off: every search reads the read model from FerretDB", cold)
        line("cache on, first pass after the API's start (warming it; other queries)",
                     [t for values in first_pass.values() for t in values])
        w = report("cache on (default), warmed: read-model documents reused while its generation is unchanged",
                   warm)
        b = line("floor: bare FerretDB _id read", base)
        line("floor: bare HTTP round trip (GET /healthz)", http_floor)
        n = line("naive: plain filter + sort", scan)
        print(machine.steal_line())
        for label, stats in (("cache off", c), ("cache on", w)):
            print(f"ratio {label:<9} / _id read       " + "  ".join(f"{k}={stats[k] / b[k]:7.1f}x  " for k in stats))
        print("ratio naive / cache-off search  " + "  ".join(f"{k}={n[k] / c[k]:7.1f}x  " for k in c))
        for label, stats, goal in (("cache off", c, 0.050), ("cache on", w, 0.020)):
            verdict = "met" if stats["p95"] < goal else "NOT met"
            print(f"goal typical query p95 < {goal * 1000:.0f} ms, {label}: {verdict} "
                  f"(p95 {stats['p95'] * 1000:.1f} ms)")
        for label, stats, limit in (("cache off", c, 0.050), ("cache on", w, 0.020)):
            record(Figure("search", f"typical query p95 ms, {label}, {catalogue}", stats["p95"] * 1000,
                          "ms", b["p95"] * 1000, "bare _id read p95", f"< {limit * 1000:.0f} ms",
                          stats["p95"] < limit))
        record(Figure("search", "naive plain filter p50 / cache-off search p50", n["p50"] / c["p50"], "x"))
    finally:
        for proc in procs:
            proc.stop()
        stack.stop()


if __name__ == "__main__":
    main()
