"""Public search over the real API: every filter, sorting and cursor pagination. Each test scopes its
queries with a keyword only its own listings carry, since the session's store is shared."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess

from tests.stack.trading_catalogue.support import (
    create_listing,
    participant,
    publish,
    register_organisation,
    search,
    trading,
    unique_word,
)

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def catalogue(services: dict[str, ManagedProcess], test_profile: Profile) -> dict[str, Any]:
    """Six published listings and one draft, all carrying one unique word."""
    word = unique_word()
    owner = register_organisation(test_profile, "210200")
    headers = participant(test_profile, owner)
    specs: dict[str, dict[str, Any]] = {
        "battery": dict(title=f"锂离子电池隔膜 {word}", ipc_codes=["H01M 10/0525"], industry="new_energy",
                        region_code="210200", deal_types=["exclusive_licence"], price_fen=50_000_000),
        "electrode": dict(title=f"电池正极材料 {word}", ipc_codes=["H01M 4/505"], industry="new_materials",
                          region_code="210100", deal_types=["assignment"], price_fen=2_000_000),
        "robot": dict(title=f"焊接机器人控制系统 {word}", abstract="welding robot trajectory control",
                      ipc_codes=["B25J 9/16"], industry="equipment_manufacturing", region_code="210100",
                      deal_types=["ordinary_licence", "open_licence"], open_licence_terms="3% of net sales",
                      price_fen=None),
        "drug": dict(title=f"抗肿瘤化合物 {word}", ipc_codes=["A61K 31/4745"], industry="biomedicine",
                     region_code="110000", deal_types=["sole_licence"], price_fen=900_000_000),
        "valve": dict(title=f"高压阀门密封结构 {word}", patent_kind="utility_model", ipc_codes=["F16K 1/42"],
                      industry="equipment_manufacturing", region_code="210211", deal_types=["assignment"],
                      price_fen=800_000),
        "seed": dict(title=f"耐盐碱水稻育种方法 {word}", ipc_codes=["A01H 1/02"], industry="agriculture_food",
                     region_code="211100", deal_types=["ordinary_licence"], price_fen=30_000_000),
    }
    from tests.stack.trading_catalogue.support import application_number

    ids: dict[str, str] = {}
    for name, spec in specs.items():
        spec.setdefault("application_number", application_number(str(spec.get("patent_kind", "invention"))))
        spec.setdefault("abstract", "")
        ids[name] = publish(test_profile, headers, create_listing(test_profile, headers, **spec))["id"]
    ids["draft"] = create_listing(test_profile, headers, title=f"未发布的草稿 {word}")["id"]
    return {"word": word, "ids": ids}


def names(catalogue: dict[str, Any], page: dict[str, Any]) -> set[str]:
    by_id = {v: k for k, v in catalogue["ids"].items()}
    return {by_id[i["id"]] for i in page["items"] if i["id"] in by_id}


def find(profile: Profile, catalogue: dict[str, Any], **params: Any) -> set[str]:
    return names(catalogue, search(profile, q=catalogue["word"], limit=100, **params))


def test_keywords_in_title_and_abstract(catalogue: dict[str, Any], test_profile: Profile) -> None:
    everything = {"battery", "electrode", "robot", "drug", "valve", "seed"}
    assert find(test_profile, catalogue) == everything, "the draft is not public"
    assert names(catalogue, search(test_profile, q=f"电池 {catalogue['word']}")) == {"battery", "electrode"}
    assert names(catalogue, search(test_profile, q=f"{catalogue['word']} 锂离子电池")) == {"battery"}
    assert names(catalogue, search(test_profile, q=f"{catalogue['word']} Welding ROBOT")) == {"robot"}
    assert names(catalogue, search(test_profile, q=f"{catalogue['word']} 飞机")) == set()


def test_ipc_prefix_at_every_level(catalogue: dict[str, Any], test_profile: Profile) -> None:
    assert find(test_profile, catalogue, ipc="H") == {"battery", "electrode"}
    assert find(test_profile, catalogue, ipc="H01M") == {"battery", "electrode"}
    assert find(test_profile, catalogue, ipc="H01M 10") == {"battery"}
    assert find(test_profile, catalogue, ipc="h01m10/0525") == {"battery"}
    assert find(test_profile, catalogue, ipc="A") == {"drug", "seed"}
    bad = httpx.get(trading(test_profile, "/v1/listings"), params={"ipc": "X12"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["query"] == "ipc"


def test_industry_region_deal_type_filters(catalogue: dict[str, Any], test_profile: Profile) -> None:
    assert find(test_profile, catalogue, industry="equipment_manufacturing") == {"robot", "valve"}
    assert find(test_profile, catalogue, region="210000") == {"battery", "electrode", "robot", "valve", "seed"}
    assert find(test_profile, catalogue, region="210200") == {"battery", "valve"}, "a city includes its districts"
    assert find(test_profile, catalogue, region="210211") == {"valve"}
    assert find(test_profile, catalogue, deal_type="assignment") == {"electrode", "valve"}
    assert find(test_profile, catalogue, deal_type=["open_licence", "sole_licence"]) == {"robot", "drug"}
    assert find(test_profile, catalogue, industry="equipment_manufacturing", deal_type="assignment") == {"valve"}
    bad = httpx.get(trading(test_profile, "/v1/listings"), params={"industry": "piracy"})
    assert bad.status_code == 422


def test_price_range(catalogue: dict[str, Any], test_profile: Profile) -> None:
    # 8,000 yuan .. 500,000 yuan (in fen); negotiable listings have no price and drop out of price filters.
    assert find(test_profile, catalogue, price_min=800_000, price_max=50_000_000) == {
        "battery", "electrode", "valve", "seed"}
    assert find(test_profile, catalogue, price_min=800_001, price_max=49_999_999) == {"electrode", "seed"}
    assert find(test_profile, catalogue, price_min=100_000_000) == {"drug"}
    assert find(test_profile, catalogue, price_max=1_000_000) == {"valve"}
    bad = httpx.get(trading(test_profile, "/v1/listings"), params={"price_min": 5, "price_max": 1})
    assert bad.status_code == 422


def test_sorting(catalogue: dict[str, Any], test_profile: Profile) -> None:
    by_id = {v: k for k, v in catalogue["ids"].items()}
    order = [by_id[i["id"]] for i in search(test_profile, q=catalogue["word"], sort="price_asc")["items"]]
    assert order == ["valve", "electrode", "seed", "battery", "drug", "robot"], "negotiable last"
    order = [by_id[i["id"]] for i in search(test_profile, q=catalogue["word"], sort="price_desc")["items"]]
    assert order == ["drug", "battery", "seed", "electrode", "valve", "robot"]
    newest = [by_id[i["id"]] for i in search(test_profile, q=catalogue["word"])["items"]]
    assert newest == ["seed", "valve", "drug", "robot", "electrode", "battery"], "published last comes first"
    oldest = [by_id[i["id"]] for i in search(test_profile, q=catalogue["word"], sort="oldest")["items"]]
    assert oldest == list(reversed(newest))


@pytest.mark.parametrize("sort", ["newest", "oldest", "price_asc", "price_desc"])
def test_cursor_pagination_visits_each_listing_once_in_order(catalogue: dict[str, Any], test_profile: Profile,
                                                             sort: str) -> None:
    full = [i["id"] for i in search(test_profile, q=catalogue["word"], sort=sort)["items"]]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"q": catalogue["word"], "sort": sort, "limit": 4 if sort == "newest" else 2}
        if cursor:
            params["cursor"] = cursor
        page = search(test_profile, **params)
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == full and len(seen) == 6
    other = search(test_profile, q=catalogue["word"], sort=sort, limit=2)["next_cursor"]
    mismatch = httpx.get(trading(test_profile, "/v1/listings"),
                         params={"q": catalogue["word"], "sort": "oldest" if sort != "oldest" else "newest",
                                 "cursor": other})
    assert mismatch.status_code == 400 and mismatch.json()["type"].endswith("bad-cursor")


def test_a_listing_under_negotiation_leaves_the_search(catalogue: dict[str, Any], test_profile: Profile) -> None:
    """Through the seam the deals code uses (same database, direct call)."""
    import asyncio

    from pymongo import AsyncMongoClient
    from trading.listings import store

    async def move(action: str) -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(test_profile.mongo_url, tz_aware=True)
        db = client[f"trading_{test_profile.name}"]
        if action == "negotiate":
            await store.mark_under_negotiation(db, catalogue["ids"]["seed"])
        else:
            await store.reopen_after_negotiation(db, catalogue["ids"]["seed"])
        terms = await store.listing_terms(db, catalogue["ids"]["seed"])
        assert terms is not None and terms.status.value == ("under_negotiation" if action == "negotiate"
                                                             else "published")
        await client.close()

    asyncio.run(move("negotiate"))
    assert "seed" not in find(test_profile, catalogue)
    public = httpx.get(trading(test_profile, f"/v1/listings/{catalogue['ids']['seed']}"))
    assert public.status_code == 200 and public.json()["status"] == "under_negotiation"
    asyncio.run(move("reopen"))
    assert "seed" in find(test_profile, catalogue)


def test_a_price_change_moves_the_listing_in_price_order(services: dict[str, ManagedProcess],
                                                         test_profile: Profile) -> None:
    """Price order reads postings filed by price bucket: an edit must move the listing between them."""
    word = unique_word()
    headers = participant(test_profile, register_organisation(test_profile))
    cheap, dear = (publish(test_profile, headers, create_listing(test_profile, headers, title=f"阀门 {word}",
                                                                  price_fen=price))
                   for price in (1_000_000, 90_000_000))

    def ids(**params: Any) -> list[str]:
        return [i["id"] for i in search(test_profile, q=word, **params)["items"]]

    assert ids(sort="price_asc") == [cheap["id"], dear["id"]]
    moved = httpx.patch(trading(test_profile, f"/v1/listings/{cheap['id']}"), json={"price_fen": 500_000_000},
                        headers={**headers, "If-Match": f'"{cheap["version"]}"'})
    assert moved.status_code == 200, moved.text
    assert ids(sort="price_asc") == [dear["id"], cheap["id"]]
    assert ids(sort="price_desc") == [cheap["id"], dear["id"]]
    assert ids(sort="price_asc", price_max=2_000_000) == [], "gone from its old bucket"
    assert ids(sort="price_desc", price_min=100_000_000) == [cheap["id"]]

    negotiable = httpx.patch(trading(test_profile, f"/v1/listings/{dear['id']}"), json={"price_fen": None},
                             headers={**headers, "If-Match": f'"{dear["version"]}"'})
    assert negotiable.status_code == 200, negotiable.text
    assert ids(sort="price_desc") == [cheap["id"], dear["id"]], "negotiable last"
    assert ids(sort="price_asc", price_min=1) == [cheap["id"]]

    withdrawn = httpx.post(trading(test_profile, f"/v1/listings/{cheap['id']}/withdraw"),
                           headers={**headers, "If-Match": f'"{moved.json()["version"]}"'})
    assert withdrawn.status_code == 200
    assert ids(sort="price_asc") == [dear["id"]]


def test_the_indexer_refiles_listings_left_behind(services: dict[str, ManagedProcess],
                                                  test_profile: Profile) -> None:
    """Two ways a listing's postings fall behind the listing: a crash between the listing's update (its
    marker written first) and its filing, and a read model whose LAYOUT changed since the listing was
    filed (the bulk job marks those). The API's indexer files both again, from the markers alone."""
    import asyncio

    from pymongo import AsyncMongoClient
    from servicekit.outbox import PENDING_MARKERS, pending_marker_id
    from trading.listings import search_store

    word = unique_word()
    headers = participant(test_profile, register_organisation(test_profile))
    crashed, old_layout = (publish(test_profile, headers, create_listing(test_profile, headers, title=f"泵 {word}",
                                                                         price_fen=price))
                           for price in (3_000_000, 7_000_000))

    async def fall_behind_and_mark() -> int:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(test_profile.mongo_url, tz_aware=True)
        db = client[f"trading_{test_profile.name}"]
        # Write only once the relay has sent the published events (their markers gone): the relay then
        # writes the listings no more (their sent events stay until their next write), so nothing races
        # with these writes from outside the API's per-document lock (FerretDB applies each update as
        # read-modify-replace, and a concurrent update could undo them).
        async def all_out() -> bool:
            markers = [await db[PENDING_MARKERS].find_one({"_id": pending_marker_id("listings", i)})
                       for i in (crashed["id"], old_layout["id"])]
            return not any(markers)

        for _ in range(150):
            if await all_out():
                break
            await asyncio.sleep(0.1)
        assert await all_out(), "the relay did not send the listings' events within 15 s"
        # And once the API's segment folder has merged their segments into the heads (it does when no
        # segment has come for `search_fold_idle_seconds`): what follows edits the heads, as a crash or
        # an older layout left them, and a batch's segment would still hold the postings. The carry may
        # stay live (the word is rare: its postings wait there for a later fold, "batch segments"); the
        # refiling below folds it with its changes.
        async def live_segments() -> list[dict[str, Any] | None]:
            generation = await db[search_store.POSTINGS].find_one({"_id": search_store.GENERATION_ID})
            return [await db[search_store.POSTINGS].find_one({"_id": search_store.segment_id(n)})
                    for n in search_store.live_numbers(generation)]

        async def folded() -> bool:
            return all(segment is not None and segment.get("c") for segment in await live_segments())

        for _ in range(300):
            if await folded():
                break
            await asyncio.sleep(0.1)
        assert await folded(), "the API's segment folder left segments live for 30 s"
        # The crash: the price changed in the listing (its marker written first), its postings never followed.
        listing = await db["listings"].find_one({"_id": crashed["id"]})
        assert listing is not None
        await search_store.mark_pending(db, crashed["id"], int(listing["version"]) + 1)
        await db["listings"].update_one({"_id": crashed["id"]},
                                        {"$set": {"price_fen": 900_000_000}, "$inc": {"version": 1}})
        # The old layout: its filing document names no layout, and this layout's postings lack it.
        filed = await db[search_store.POSTINGS].find_one({"_id": search_store.card_id(old_layout["id"])})
        assert filed is not None
        await search_store._unfile(db, filed["seq"], filed["terms"].split("\n"), filed["price"])
        await db[search_store.POSTINGS].update_one({"_id": filed["_id"]}, {"$unset": {"layout": ""}})
        await db[search_store.POSTINGS].update_one({"_id": search_store.GENERATION_ID}, {"$inc": {"n": 1}})
        # A postings document of a layout before ids carried it: the job drops it (search never reads it).
        await db[search_store.POSTINGS].insert_one({"_id": f"p|kw:{word}|0", "d": b""})
        marked = await search_store.mark_all_published_for_refiling(db)
        assert await db[search_store.POSTINGS].find_one({"_id": f"p|kw:{word}|0"}) is None
        # This layout's heads and segments stay: the word's postings are in its head or in the carry.
        segments = await live_segments()
        assert all(segment is not None for segment in segments), "the job deleted a live segment"
        in_carry = any(f"kw:{word}\t" in str((segment or {}).get("t")) for segment in segments)
        assert in_carry or await db[search_store.POSTINGS].find_one(
            {"_id": search_store.head_id(f"kw:{word}")}) is not None
        await client.close()
        return marked

    def by_price(**params: Any) -> list[str]:
        return [i["id"] for i in search(test_profile, q=word, sort="price_asc", **params)["items"]]

    assert by_price() == [crashed["id"], old_layout["id"]]
    assert asyncio.run(fall_behind_and_mark()) >= 1
    # search() waits until the indexer's markers are gone: it found both from their markers alone.
    assert by_price() == [old_layout["id"], crashed["id"]], "the crashed change is in the postings now"
    assert by_price(price_min=100_000_000) == [crashed["id"]]
    assert [i["id"] for i in search(test_profile, q=word, sort="oldest")["items"]] == [crashed["id"], old_layout["id"]]


def wait_for_a_fold(profile: Profile) -> None:
    """Until every live segment is the carry: the segment folder folded what was published."""
    import asyncio

    from pymongo import AsyncMongoClient
    from trading.listings import search_store

    async def wait() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(profile.mongo_url, tz_aware=True)
        db = client[f"trading_{profile.name}"]

        async def folded() -> bool:
            generation = await db[search_store.POSTINGS].find_one({"_id": search_store.GENERATION_ID})
            segments = [await db[search_store.POSTINGS].find_one({"_id": search_store.segment_id(n)})
                        for n in search_store.live_numbers(generation)]
            return all(segment is not None and segment.get("c") for segment in segments)

        try:
            for _ in range(300):
                if await folded():
                    return
                await asyncio.sleep(0.1)
            raise AssertionError("the API's segment folder left segments live for 30 s")
        finally:
            await client.close()

    asyncio.run(wait())


def folder_processes(api: ManagedProcess) -> set[int]:
    """The API's children that are multiprocessing's spawned workers: the segment folder's process (not
    multiprocessing's resource tracker, a child too)."""
    from pathlib import Path

    children = {int(c) for t in Path(f"/proc/{api.pid}/task").iterdir() for c in (t / "children").read_text().split()}
    return {c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()}


def worded_listings(profile: Profile, headers: dict[str, str], word: str, price: int) -> list[dict[str, Any]]:
    """Enough published listings with `word` for a fold to write its head (rarer terms wait in the carry)."""
    from trading.listings import search_store

    return [publish(profile, headers, create_listing(profile, headers, title=f"阀门 {word}", price_fen=price))
            for _ in range(search_store.CARRY_BELOW + 2)]


def worded_prices(profile: Profile, word: str, **params: Any) -> dict[str, int | None]:
    """The price of each listing a search for `word` finds (with these filters)."""
    return {i["id"]: i["price_fen"] for i in search(profile, q=word, limit=100, **params)["items"]}


def test_the_folder_s_process_starts_from_what_the_api_wrote_between_its_folds(
        services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    """The segment folder merges and writes in a process of its own (trading.listings.fold_process), which
    keeps copies of the heads it wrote. Between two of its folds the API's own indexer rewrites a head (a
    price changed after the listing was filed: its batch takes the old posting out). The next fold must
    start from that head, not from its copy, or the old price would come back."""
    word = unique_word()
    headers = participant(test_profile, register_organisation(test_profile))

    cheap = worded_listings(test_profile, headers, word, 1_000_000)
    wait_for_a_fold(test_profile)
    assert folder_processes(services["trading-api"]), "the fold ran without the folder's process"

    moved = cheap[0]
    changed = httpx.patch(trading(test_profile, f"/v1/listings/{moved['id']}"), json={"price_fen": 900_000_000},
                          headers={**headers, "If-Match": f'"{moved["version"]}"'})
    assert changed.status_code == 200, changed.text
    assert worded_prices(test_profile, word, price_max=2_000_000).keys() == {c["id"] for c in cheap[1:]}
    more = worded_listings(test_profile, headers, word, 2_000_000)
    wait_for_a_fold(test_profile)

    everything = {c["id"] for c in cheap[1:] + more}
    assert worded_prices(test_profile, word, price_max=2_000_000).keys() == everything, (
        "the old price came back with a fold")
    assert worded_prices(test_profile, word, price_min=100_000_000).keys() == {moved["id"]}


def test_a_fold_whose_process_is_killed_is_done_by_the_api_and_loses_nothing(
        services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    """The folder's process is stopped (SIGSTOP) before a fold is due, so the fold is handed to a process
    that never answers, then killed (SIGKILL) as an out-of-memory kill would: the API does that fold itself
    from the store, every listing published meanwhile is found with its price, and the next fold starts
    another process."""
    import os
    import signal
    import time

    api = services["trading-api"]
    word = unique_word()
    headers = participant(test_profile, register_organisation(test_profile))
    first = worded_listings(test_profile, headers, word, 1_000_000)
    wait_for_a_fold(test_profile)
    (folder,) = folder_processes(api)
    log_before = api.log_file.stat().st_size

    os.kill(folder, signal.SIGSTOP)
    try:
        during = worded_listings(test_profile, headers, word, 2_000_000)
        # A fold is due once no segment came for search_fold_idle_seconds (5) and the folder's next
        # periodic run (every 5 s) comes: by now it was handed to the stopped process and waits for it.
        time.sleep(12)
    finally:
        os.kill(folder, signal.SIGKILL)
    wait_for_a_fold(test_profile)
    log = api.log_file.read_bytes()[log_before:].decode(errors="replace")
    assert "the segment folder's process ended" in log, "the API did not notice its folder's process end"

    assert worded_prices(test_profile, word, price_max=1_000_000).keys() == {c["id"] for c in first}
    assert worded_prices(test_profile, word, price_min=2_000_000).keys() == {c["id"] for c in during}, (
        "a listing was lost with the process")

    after = worded_listings(test_profile, headers, word, 3_000_000)
    wait_for_a_fold(test_profile)
    replacement = folder_processes(api)
    assert replacement and folder not in replacement, "the next fold did not start another folder's process"
    assert worded_prices(test_profile, word, price_min=3_000_000).keys() == {c["id"] for c in after}
    assert len(worded_prices(test_profile, word)) == len(first) + len(during) + len(after)
