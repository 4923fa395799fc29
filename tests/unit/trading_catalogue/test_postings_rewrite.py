"""The indexer's filing of postings (search_store._file_terms): new postings go to their terms' tails
(appended when newer than all the tail holds, each once when not), a tail longer than TAIL_MAX moves to its
block and price-cell documents, which its head then names, and a removal takes a posting out of the
tail and the documents alike, deleting what it leaves empty."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trading.listings import search_store
from trading.listings.search import BLOCK_SIZE, TAIL_MAX, Posting, SearchQuery, pack, price_cell, unpack
from trading.listings.search_store import ReadCache, _file_terms, head_id, posting_id, price_posting_id

from tests.unit.trading_catalogue.fake_postings import FakeDb


def filed(docs: dict[str, dict[str, Any]], removes: dict[str, dict[int, int]],
          adds: dict[str, dict[int, Posting]]) -> dict[str, dict[str, Any]]:
    search_store._written.clear()
    db = FakeDb(docs)
    asyncio.run(_file_terms(db, removes, adds))  # type: ignore[arg-type]
    search_store._written.clear()
    return {k: {f: bytes(v) if isinstance(v, bytes) else v for f, v in d.items()}
            for k, d in db.collection.docs.items()}


def head(tail: list[Posting], blocks: str = "", cells: str = "") -> dict[str, Any]:
    return {"b": blocks, "q": cells, "t": pack(tail)}


OLD = [Posting(1, 100, "lst-a"), Posting(2, -1, "lst-b")]
NEW = {3: Posting(3, 500, "lst-c"), 4: Posting(4, 7, "lst-d")}


def test_newer_postings_are_appended_and_postings_a_tail_holds_are_kept_once() -> None:
    appended = filed({head_id("all"): {"_id": head_id("all"), **head(OLD)}}, {}, {"all": NEW, "kw:xy": NEW})
    assert [p.seq for p in unpack(appended[head_id("all")]["t"])] == [1, 2, 3, 4]
    # A fold run again after a crash wrote its heads: the tail already holds some of what it adds.
    again = filed({head_id("all"): {"_id": head_id("all"), **head([*OLD, NEW[3]])}}, {}, {"all": NEW})
    assert sorted(p.seq for p in unpack(again[head_id("all")]["t"])) == [1, 2, 3, 4]
    assert appended[head_id("kw:xy")] == {"_id": head_id("kw:xy"), **head(list(NEW.values()))}, \
        "a new term is one document, its head"
    assert set(appended) == {head_id("all"), head_id("kw:xy")}, "no postings document is written"


def test_a_tail_longer_than_its_limit_moves_to_its_documents() -> None:
    tail = [Posting(BLOCK_SIZE - TAIL_MAX + i, 5, f"l{i}") for i in range(TAIL_MAX)]
    block_doc: dict[str, Any] = {"_id": posting_id("all", 0), "d": pack([Posting(0, 5, "first")])}
    adding = Posting(BLOCK_SIZE, 5, "next")
    docs = filed({head_id("all"): {"_id": head_id("all"), **head(tail, "0")}, block_doc["_id"]: block_doc},
                 {}, {"all": {adding.seq: adding}})
    cell = price_cell(5, 0)
    assert docs[head_id("all")] == {"_id": head_id("all"), **head([], "0 1", cell)}
    assert [p.seq for p in unpack(docs[posting_id("all", 0)]["d"])] == [0, *(p.seq for p in tail)]
    assert unpack(docs[posting_id("all", 1)]["d"]) == [adding]
    assert unpack(docs[price_posting_id("all", cell)]["d"]) == [*tail, adding]


def test_a_removal_leaves_tail_and_documents_and_deletes_what_it_empties() -> None:
    cell = price_cell(100, 1)
    docs = filed({head_id("all"): {"_id": head_id("all"), **head(OLD[1:], "0", cell)},
                  posting_id("all", 0): {"_id": posting_id("all", 0), "d": pack(OLD[:1])},
                  price_posting_id("all", cell): {"_id": price_posting_id("all", cell), "d": pack(OLD[:1])},
                  head_id("kw:xy"): {"_id": head_id("kw:xy"), **head(OLD[1:])}},
                 {"all": {1: 100, 2: -1}, "kw:xy": {2: -1}}, {})
    assert docs == {}, "both postings gone: the emptied documents and heads are deleted"


def test_a_posting_left_in_a_document_and_its_tail_by_a_failed_move_is_removed_from_both() -> None:
    cell = price_cell(100, 1)
    docs = filed({head_id("all"): {"_id": head_id("all"), **head(OLD, "0", cell)},
                  posting_id("all", 0): {"_id": posting_id("all", 0), "d": pack(OLD[:1])},
                  price_posting_id("all", cell): {"_id": price_posting_id("all", cell), "d": pack(OLD[:1])}},
                 {"all": {1: 100}}, {})
    assert docs == {head_id("all"): {"_id": head_id("all"), **head(OLD[1:])}}


# Any sequence of batches (publishing, re-pricing in place, withdrawing) leaves every term's postings,
# its tail and the documents its head names together, equal to what was filed, each posting once; and
# search reads them back in order. The tail limit is made small so that postings move often.
_terms = st.sampled_from(["all", "kw:a", "kw:b"])
_change = st.tuples(st.sampled_from(["publish", "reprice", "withdraw"]), st.integers(0, 30),
                    st.sampled_from([5, 70_000_000, -1]), st.sets(_terms, min_size=1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_change, min_size=1, max_size=6), min_size=1, max_size=8))
def test_any_batches_leave_each_posting_filed_once(batches: list[list[tuple[str, int, int, set[str]]]]) -> None:
    db = FakeDb({})
    filed: dict[str, dict[int, Posting]] = {}  # term -> seq -> posting, the truth
    listings: dict[int, tuple[int, set[str]]] = {}  # listing number -> (seq, terms) while published
    next_seq = iter(range(0, 10 * BLOCK_SIZE, BLOCK_SIZE // 3))  # across blocks and price epochs
    search_store._written.clear()
    with patch.object(search_store, "TAIL_MAX", 3), patch.object(search_store, "_cache", ReadCache(0)):
        for batch in batches:
            removes: dict[str, dict[int, int]] = {}
            adds: dict[str, dict[int, Posting]] = {}
            for kind, number, price, terms in batch:
                old = listings.pop(number, None)
                if old is not None:
                    seq, old_terms = old
                    if any(seq in adds.get(t, {}) for t in old_terms):
                        listings[number] = old
                        continue  # one change per listing per batch, as the indexer files them
                    for term in old_terms:
                        removes.setdefault(term, {})[seq] = filed[term].pop(seq).price
                if kind == "withdraw" or (kind == "reprice" and old is None):
                    continue
                seq = old[0] if kind == "reprice" and old is not None else next(next_seq)
                posting = Posting(seq, price, f"l{number}")
                for term in terms:
                    adds.setdefault(term, {})[seq] = posting
                    filed.setdefault(term, {})[seq] = posting
                listings[number] = (seq, terms)
            asyncio.run(_file_terms(db, removes, adds))  # type: ignore[arg-type]
            for term in ("all", "kw:a", "kw:b"):
                doc = db.collection.docs.get(head_id(term), {})
                places = list(unpack(bytes(doc.get("t") or b"")))
                for key in (doc.get("b") or "").split():
                    places += unpack(bytes(db.collection.docs[posting_id(term, key)]["d"]))
                assert sorted(p.seq for p in places) == sorted(filed.get(term, {})), "each posting once"
                assert {p.seq: p for p in places} == filed.get(term, {})
                cells = [unpack(bytes(db.collection.docs[price_posting_id(term, c)]["d"]))
                         for c in (doc.get("q") or "").split()]
                assert sorted(p.seq for c in cells for p in c) == sorted(
                    p.seq for p in filed.get(term, {}).values() if p not in unpack(bytes(doc.get("t") or b"")))
                query = SearchQuery(keywords=(term[3:],)) if term != "all" else SearchQuery()
                page, _more = asyncio.run(search_store.search(db, query))  # type: ignore[arg-type]
                assert [p.seq for p in page] == sorted(filed.get(term, {}), reverse=True)[:20]
    search_store._written.clear()
