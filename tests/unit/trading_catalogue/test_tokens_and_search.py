"""Tokenising, the search read model's terms, buckets, ordering, intersection and packing."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.responses import JSONResponse
from fastapi.routing import serialize_response
from fastapi.utils import create_model_field
from trading.listings.domain import DealType
from trading.listings.models import ListingPage, ListingRead, listing_page_json
from trading.listings.search import (
    ALL,
    BLOCK_SIZE,
    DEAL_BITS,
    EPOCH_SIZE,
    ID_BYTES,
    LAYOUT,
    NEGOTIABLE,
    TAIL_MAX,
    Posting,
    PostingBlock,
    SearchQuery,
    SearchSort,
    SplitPostings,
    TermHead,
    block_can_follow,
    block_key,
    block_order,
    bucket_can_follow,
    bucket_order,
    buckets_for_range,
    cell_bucket,
    intersect,
    listing_id_of,
    listing_terms,
    pack,
    packed_listing_id,
    price_bucket,
    price_cell,
    record_keys,
    sort_key,
    unpack,
)
from trading.listings.search_store import (
    card,
    epoch_posting_id,
    head_id,
    posting_id,
    postings_for_bulk_load,
    price_posting_id,
)
from trading.listings.store import listing_id_for
from trading.listings.tokens import tokens


def test_chinese_runs_become_bigrams_and_latin_words_stay_whole() -> None:
    assert tokens("锂离子电池") == ["锂离", "离子", "子电", "电池"]
    assert tokens("The Welding-ROBOT of 2024") == ["welding", "robot", "2024"]
    assert tokens("\uff21\uff22\uff23\uff11\uff12\uff13") == ["abc123"], "full-width folds to ASCII"
    assert tokens("锂电池, a 电 x") == ["锂电", "电池", "电"], "lone Han kept, 1-letter words and stop words dropped"
    assert tokens("电池 电池") == ["电池"]


def test_listing_terms_cover_every_filter() -> None:
    doc = {"title": "锂电池", "abstract": "safe separator", "ipc_codes": ["H01M 10/0525"], "industry": "new_energy",
           "region_code": "210211", "deal_types": ["assignment"], "price_fen": 2_500_000}
    assert listing_terms(doc) == [
        ALL, "kw:锂电", "kw:电池", "kw:safe", "kw:separator", "ipc:H", "ipc:H01", "ipc:H01M", "ipc:H01M10",
        "ipc:H01M10/0525", "ind:new_energy", "reg:210000", "reg:210200", "reg:210211", "deal:assignment"]


def test_price_buckets_cover_a_range_exactly() -> None:
    assert price_bucket(None) == "n"
    assert price_bucket(0) == "0" and price_bucket(9_999) == "0" and price_bucket(10_000) == "1"
    for low, high in ((0, 5), (9_999, 10_000), (1_234_567, 98_765_432), (10 ** 12, None), (None, 30_000)):
        allowed = set(buckets_for_range(low, high))
        for price in (0, 1, 9_999, 10_000, 1_234_567, 5_000_000, 98_765_432, 10 ** 12, 10 ** 13):
            inside = (low is None or price >= low) and (high is None or price <= high)
            if inside:
                assert price_bucket(price) in allowed, (low, high, price)
    assert buckets_for_range(20_000_000, 20_000_000) == [price_bucket(20_000_000)]


def accepts(query: SearchQuery, posting: Posting) -> bool:
    keep = query.record_filter()
    return keep is None or keep(posting.price, posting.region, posting.deals)


def test_query_groups_and_record_filters() -> None:
    query = SearchQuery(keywords=("电池",), ipc_prefix="H01M", region_code="210200",
                        deal_types=("assignment", "sole_licence"), price_min=1, price_max=10_000)
    assert query.groups() == [["kw:电池"], ["ipc:H01M"], ["reg:210200"]], "deals and price: on the postings"
    assert SearchQuery(keywords=("x",), region_code="210000").groups() == [["kw:x"]], "a province: on the postings"
    assert SearchQuery(region_code="210000", deal_types=("assignment",)).groups() == [["reg:210000"]]
    assert SearchQuery(deal_types=("assignment", "sole_licence"), price_min=1).groups() == [
        ["deal:assignment", "deal:sole_licence"]]
    assert SearchQuery().groups() == [[ALL]] and SearchQuery(price_min=1).groups() == [[ALL]]
    assert query.buckets() == {"0", "1"} and SearchQuery().buckets() is None
    assert query.price_ok(10_000) and not query.price_ok(10_001) and not query.price_ok(NEGOTIABLE)
    assert SearchQuery().price_ok(NEGOTIABLE)
    dalian = Posting(1, 5_000, "a", 210202, DEAL_BITS["sole_licence"] | DEAL_BITS["open_licence"])
    assert accepts(query, dalian)
    assert not accepts(query, dalian._replace(price=20_000)), "price out of range"
    assert not accepts(query, dalian._replace(region=210102)), "another city of the province"
    assert not accepts(query, dalian._replace(deals=DEAL_BITS["open_licence"])), "none of the deal types"
    assert accepts(SearchQuery(region_code="210000"), dalian._replace(region=210102)), "a province holds its cities"
    assert accepts(SearchQuery(region_code="210202"), dalian)
    assert not accepts(SearchQuery(region_code="210203"), dalian)
    assert SearchQuery().record_filter() is None, "no filter: everything"


def test_every_deal_type_has_its_own_bit() -> None:
    assert set(DEAL_BITS) == {d.value for d in DealType}
    assert sorted(DEAL_BITS.values()) == [1 << i for i in range(len(DEAL_BITS))]


def test_intersect_is_and_of_ors() -> None:
    a, b, c = Posting(1, 5, "a"), Posting(2, 6, "b"), Posting(3, NEGOTIABLE, "c")

    def d(*postings: Posting) -> PostingBlock:
        return PostingBlock(pack(postings))

    assert {p.seq for p in intersect([[d(a, b, c)], [d(a), d(c)]])} == {1, 3}
    assert [p.seq for p in intersect([[d(a), d(a, b)], [d(a, c)]])] == [1], "under two ORed terms, counted once"
    assert intersect([[d(a, b)], [d(c)]]) == []
    assert intersect([[d(a)], [d()]]) == []
    assert intersect([]) == []
    assert sorted(intersect([[d(a, b), d(c, b)]])) == [a, b, c], "one group: every posting, each once"
    assert intersect([[d(c, a)], [d(c)]]) == [c], "a listing filed again keeps its seq and is stored last"


def test_intersect_keeps_only_what_the_record_filter_accepts() -> None:
    cheap, dear = Posting(1, 5, "cheap", 210202, DEAL_BITS["assignment"]), Posting(2, 900, "dear", 210202, 1)
    free = Posting(3, NEGOTIABLE, "free", 110101, DEAL_BITS["open_licence"])
    block = PostingBlock(pack([dear, cheap, free]))  # stored out of seq order, as a refiled listing is
    keep = SearchQuery(price_max=100).record_filter()
    assert keep is not None
    assert intersect([[block]], keep) == [cheap], "one group: each record checked before its id is decoded"
    assert intersect([[block], [PostingBlock(pack([cheap, dear]))]], keep) == [cheap], "several groups"
    by_deal = SearchQuery(deal_types=("open_licence",), region_code="110000").record_filter()
    assert intersect([[block]], by_deal) == [free]


def test_a_block_finds_seqs_and_decodes_only_what_is_asked() -> None:
    postings = [Posting(7, 100, "lst-7"), Posting(3, NEGOTIABLE, "lst-3"), Posting(2 ** 31, 5, "lst-big")]
    block = PostingBlock(pack(postings))
    assert list(block.seqs) == [3, 7, 2 ** 31] and len(block) == 3
    assert [block.posting_at(block.find(p.seq)) for p in postings] == postings
    assert block.find(4) == -1 and block.find(2 ** 32 - 1) == -1 and PostingBlock(b"").find(3) == -1


def test_a_record_holds_a_listing_id_in_eleven_bytes_and_refuses_what_it_cannot_hold() -> None:
    made = listing_id_for("caller|key")
    for listing_id in (made, "lst-0123456789abcdef0123", "lst-7", "x", "0123456789"):
        stored = packed_listing_id(listing_id)
        assert len(stored) == ID_BYTES and listing_id_of(stored) == listing_id
        assert unpack(pack([Posting(1, 5, listing_id)])) == [Posting(1, 5, listing_id)]
    assert packed_listing_id(made)[0] == 1, "a made id is stored as the bytes its hex digits spell"
    # Near misses of the made form fall back to text, which holds at most 10 characters: refused
    # loudly, never stored as another id.
    for bad in ("lst-0123456789ABCDEF0123", "lst-0123456789abcdef012", "lst-01 23456789abcdef012",
                "lst-0123456789abcdef01234", "01234567890", "lst-é"):
        with pytest.raises(ValueError, match="cannot hold it"):
            packed_listing_id(bad)


def test_sort_keys_and_block_pruning() -> None:
    cheap, dear, free = Posting(10, 100, "x"), Posting(11, 900, "y"), Posting(12, NEGOTIABLE, "z")
    postings = [cheap, dear, free]
    assert [p.seq for p in sorted(postings, key=lambda p: sort_key(SearchSort.NEWEST, p))] == [12, 11, 10]
    assert [p.seq for p in sorted(postings, key=lambda p: sort_key(SearchSort.OLDEST, p))] == [10, 11, 12]
    assert [p.seq for p in sorted(postings, key=lambda p: sort_key(SearchSort.PRICE_ASC, p))] == [10, 11, 12]
    assert [p.seq for p in sorted(postings, key=lambda p: sort_key(SearchSort.PRICE_DESC, p))] == [11, 10, 12]
    assert block_order(SearchSort.NEWEST, [0, 2, 1]) == [2, 1, 0]
    assert block_order(SearchSort.OLDEST, [0, 2, 1]) == [0, 1, 2]
    after = sort_key(SearchSort.NEWEST, Posting(BLOCK_SIZE + 5, 0, "q"))
    assert block_can_follow(SearchSort.NEWEST, 0, after) and block_can_follow(SearchSort.NEWEST, 1, after)
    assert not block_can_follow(SearchSort.NEWEST, 2, after)
    assert not block_can_follow(SearchSort.OLDEST, 0, sort_key(SearchSort.OLDEST, Posting(BLOCK_SIZE - 1, 0, "q")))


def test_postings_pack_and_bulk_load() -> None:
    postings = [Posting(1, NEGOTIABLE, "lst-aaaaaaaaaaaaaaaaaaaa", 210202, 3),
                Posting(2 ** 31, 10 ** 14, "x", 659004, 16)]
    assert unpack(pack(postings)) == postings
    now = datetime.now(UTC)
    listing = {"application_number": "2021100000013", "patent_kind": "invention", "title": "x", "abstract": "",
               "ipc_codes": ["H01M"], "locarno_classes": [], "owner_organisation_id": "o",
               "co_owner_organisation_ids": [], "agent_organisation_id": None, "industry": "other",
               "region_code": "210200", "legal_status": "granted", "expires_on": "2040-01-01",
               "deal_types": ["assignment"], "price_fen": None, "open_licence_terms": None, "status": "published",
               "version": 2, "created_at": now, "updated_at": now, "published_at": now}
    docs = postings_for_bulk_load([
        ({**listing, "_id": "b", "title": "xy", "price_fen": 5}, BLOCK_SIZE),
        ({**listing, "_id": "a", "title": "zz"}, 1),
    ])
    by_id = {d["_id"]: d for d in docs}
    a, b = Posting(1, NEGOTIABLE, "a", 210200, DEAL_BITS["assignment"]), Posting(BLOCK_SIZE, 5, "b", 210200, 1)
    # Two postings of a term are its tail, in its head: no postings documents yet.
    assert unpack(bytes(by_id[head_id("all")]["t"])) == [a, b]
    assert (by_id[head_id("all")]["b"], by_id[head_id("all")]["q"]) == ("", "")
    assert unpack(bytes(by_id[head_id("kw:xy")]["t"])) == [b]
    assert not any(k.startswith((f"p{LAYOUT}|", f"q{LAYOUT}|")) for k in by_id)
    head = TermHead(by_id[head_id("all")]["b"], by_id[head_id("all")]["q"], bytes(by_id[head_id("all")]["t"]))
    assert head.keys(by_price=False) == {"0", "1"} and head.stored(by_price=False) == frozenset()
    assert unpack(head.tail_in("1", by_price=False).packed) == [b]
    cheap = price_cell(5, BLOCK_SIZE)
    assert head.keys(by_price=True) == {"n:0", cheap}, "the tail serves price order too"
    assert unpack(head.tail_in("n:0", by_price=True).packed) == [a]
    assert posting_id("all", 0) == f"p{LAYOUT}|all|0", "the layout is part of the ids"
    assert ListingRead.model_validate_json(by_id["c|a"]["j"]).id == "a", "a result card per listing"
    filed = by_id["c|b"]
    assert (filed["seq"], filed["price"], filed["layout"], filed["status"]) == (BLOCK_SIZE, 5, LAYOUT, "published")
    assert filed["terms"].split("\n") == listing_terms({**listing, "title": "xy", "price_fen": 5}), "filed under"


def published_listing() -> dict[str, Any]:
    """A published listing as the bulk loader takes it (title "x", priced 5 fen), without its `_id`."""
    now = datetime.now(UTC)
    return {"application_number": "2021100000013", "patent_kind": "invention", "title": "x", "abstract": "",
            "ipc_codes": [], "locarno_classes": [], "owner_organisation_id": "o", "co_owner_organisation_ids": [],
            "agent_organisation_id": None, "industry": "other", "region_code": "210200", "legal_status": "granted",
            "expires_on": "2040-01-01", "deal_types": ["assignment"], "price_fen": 5, "open_licence_terms": None,
            "status": "published", "version": 2, "created_at": now, "updated_at": now, "published_at": now}


def test_bulk_load_moves_whole_tails_to_documents() -> None:
    listing = published_listing()
    count = TAIL_MAX + 1 + 3
    seqs = [BLOCK_SIZE - 100 + i for i in range(count)]  # across two blocks
    by_id = {d["_id"]: d for d in postings_for_bulk_load([({**listing, "_id": f"l{s}"}, s) for s in seqs])}
    head = by_id[head_id("all")]
    assert [p.seq for p in unpack(bytes(head["t"]))] == seqs[-3:], "what does not fill a whole tail stays in it"
    assert head["b"] == "0 1" and head["q"] == price_cell(5, seqs[0])
    in_blocks = unpack(bytes(by_id[posting_id("all", 0)]["d"])) + unpack(bytes(by_id[posting_id("all", 1)]["d"]))
    assert [p.seq for p in in_blocks] == seqs[:TAIL_MAX + 1]
    assert [p.seq for p in unpack(bytes(by_id[price_posting_id("all", head["q"])]["d"]))] == seqs[:TAIL_MAX + 1]


def test_bulk_load_moves_a_rare_terms_whole_tails_to_epoch_documents() -> None:
    listing = published_listing()
    seqs = [i * 300 for i in range(1, TAIL_MAX + 1 + 3 + 1)]  # some 27 blocks: a rare term's spread
    by_id = {d["_id"]: d for d in postings_for_bulk_load([({**listing, "_id": f"l{s}"}, s) for s in seqs])}
    head = by_id[head_id("all")]
    assert [p.seq for p in unpack(bytes(head["t"]))] == seqs[-3:]
    moved = seqs[:TAIL_MAX + 1]
    epochs = sorted({str(s // EPOCH_SIZE) for s in moved})
    assert (head["b"], head["q"]) == ("", ""), "no block or cell documents"
    in_epochs = [p for e in epochs for p in unpack(bytes(by_id[epoch_posting_id("all", e)]["d"]))]
    assert [p.seq for p in in_epochs] == moved
    blocks, cells = record_keys(pack(in_epochs))
    assert (head["e"], head["f"]) == (" ".join(sorted(blocks)), " ".join(sorted(cells)))
    read = TermHead(head["b"], head["q"], bytes(head["t"]), head["e"], head["f"])
    assert read.keys(by_price=False) == blocks | {str(s // BLOCK_SIZE) for s in seqs[-3:]}
    assert read.spread(by_price=True) == frozenset(cells)


def test_price_cells_file_by_bucket_and_epoch() -> None:
    assert price_cell(2_500_000, 5) == f"{price_bucket(2_500_000)}:0"
    assert price_cell(NEGOTIABLE, EPOCH_SIZE * 3 + 1) == "n:3"
    assert cell_bucket("12:7") == "12" and cell_bucket("n:0") == "n"


def test_split_postings_cut_each_block_and_cell_as_each_record_is_filed() -> None:
    # Records over two epochs, several blocks and every kind of price (a bucket's bounds, the first and
    # last buckets, negotiable), one filed again out of seq order: each part, cut lazily by numbers,
    # holds exactly the records whose block_key / price_cell (the filing rule) is its key, in stored order.
    rng = random.Random(7)
    prices = [NEGOTIABLE, 0, 9_999, 10_000, 19_999, 20_000, 10 ** 12 - 1, 5 * 10 ** 12, 3 * 10 ** 15]
    edges = {EPOCH_SIZE + k * BLOCK_SIZE + d for k in (-2, -1, 0, 1) for d in (-1, 0)}  # each side of a boundary
    seqs = sorted(edges | set(rng.sample(range(EPOCH_SIZE - 3 * BLOCK_SIZE, EPOCH_SIZE + 2 * BLOCK_SIZE), 300)))
    postings = [Posting(seq, rng.choice(prices), f"lst-{seq}") for seq in seqs]
    postings.append(postings.pop(40))
    split = SplitPostings(pack(postings))
    for by_price in (False, True):
        expected: dict[str, list[Posting]] = {}
        for posting in postings:
            key = price_cell(posting.price, posting.seq) if by_price else block_key(posting.seq)
            expected.setdefault(key, []).append(posting)
        assert split.keys(by_price) == set(expected)
        for key, kept in expected.items():
            assert unpack(split.part(key, by_price).packed) == kept
    assert len(split.part("0", False)) == 0 and len(split.part(f"3:{EPOCH_SIZE}", True)) == 0
    assert SplitPostings().keys(True) == set()


def test_buckets_walk_in_price_order_with_negotiable_last() -> None:
    buckets = {"10", "2", "n", "9"}
    assert bucket_order(SearchSort.PRICE_ASC, buckets) == ["2", "9", "10", "n"]
    assert bucket_order(SearchSort.PRICE_DESC, buckets) == ["10", "9", "2", "n"]
    assert bucket_order(SearchSort.PRICE_ASC, {"3"}) == ["3"]


def test_buckets_before_the_cursor_are_skipped() -> None:
    price = 2_500_000
    here = price_bucket(price)
    below, above = str(int(here) - 1), str(int(here) + 1)
    asc = sort_key(SearchSort.PRICE_ASC, Posting(7, price, "x"))
    assert not bucket_can_follow(SearchSort.PRICE_ASC, below, asc)
    assert bucket_can_follow(SearchSort.PRICE_ASC, here, asc) and bucket_can_follow(SearchSort.PRICE_ASC, above, asc)
    assert bucket_can_follow(SearchSort.PRICE_ASC, "n", asc)
    desc = sort_key(SearchSort.PRICE_DESC, Posting(7, price, "x"))
    assert not bucket_can_follow(SearchSort.PRICE_DESC, above, desc)
    assert bucket_can_follow(SearchSort.PRICE_DESC, here, desc)
    assert bucket_can_follow(SearchSort.PRICE_DESC, below, desc)
    negotiable = sort_key(SearchSort.PRICE_DESC, Posting(7, NEGOTIABLE, "x"))
    assert bucket_can_follow(SearchSort.PRICE_DESC, "n", negotiable)
    assert not bucket_can_follow(SearchSort.PRICE_DESC, "0", negotiable)
    assert bucket_can_follow(SearchSort.PRICE_ASC, "0", None)


def test_a_page_made_from_stored_cards_is_what_fastapi_sends_for_the_page_model() -> None:
    """Search answers with the cards as stored (listing_page_json) instead of parsing and serializing
    each again: the body must be the one FastAPI renders for ListingPage with the same items."""
    now = datetime(2026, 12, 3, 10, 0, 0, 123456, tzinfo=UTC)
    listing = {"_id": "lst-1", "application_number": "2021100000013", "patent_kind": "invention",
               "title": "储能电池 \"quoted\" \\ back", "abstract": "液冷板", "ipc_codes": ["H01M 10/613"],
               "locarno_classes": [], "owner_organisation_id": "o", "co_owner_organisation_ids": ["p"],
               "agent_organisation_id": None, "industry": "new_energy", "region_code": "210200",
               "legal_status": "granted", "filing_date": date(2021, 1, 2), "expires_on": date(2041, 1, 2),
               "deal_types": ["open_licence"], "price_fen": 80_000_000, "open_licence_terms": "5 years",
               "open_licence_royalty_rate_percent": Decimal("2.50"), "open_licence_fee_fen": 1000,
               "status": "published", "version": 2, "created_at": now, "updated_at": now, "published_at": now}
    cards = [card(listing), card({**listing, "_id": "lst-2", "price_fen": None, "published_at": None})]
    field = create_model_field("page", ListingPage, mode="serialization")
    for next_cursor in ("eyJhIjoxfQ", None):
        expected = JSONResponse(asyncio.run(serialize_response(
            field=field, response_content=ListingPage(
                items=[ListingRead.model_validate_json(c) for c in cards], next_cursor=next_cursor),
            is_coroutine=True))).body
        assert listing_page_json(cards, next_cursor) == expected
    assert listing_page_json([], None) == b'{"items":[],"next_cursor":null}'
