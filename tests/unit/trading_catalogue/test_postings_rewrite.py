"""The indexer's filing of postings (search_store._file_terms): new postings go to their terms' tails
(appended when newer than all the tail holds, each once when not), a tail longer than TAIL_MAX moves to its
block and price-cell documents, or to its epoch documents when it spans many blocks, which its head then
names, and a removal takes a posting out of the tail and the documents alike, deleting what it leaves
empty."""

from __future__ import annotations

import asyncio
import random
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trading.listings import search, search_store
from trading.listings.search import (
    BLOCK_SIZE,
    EPOCH_SIZE,
    NEGOTIABLE,
    TAIL_MAX,
    Posting,
    SearchQuery,
    SearchSort,
    block_key,
    epoch_key,
    epoch_of,
    pack,
    packed_by_term,
    price_cell,
    record_keys,
    records_by_document,
    records_by_epoch,
    sort_key,
    unpack,
)
from trading.listings.search_store import (
    ReadCache,
    _file_terms,
    epoch_posting_id,
    head_id,
    posting_id,
    price_posting_id,
)

from tests.unit.trading_catalogue.fake_postings import FakeDb


def filed(docs: dict[str, dict[str, Any]], removes: dict[str, dict[int, int]],
          adds: dict[str, dict[int, Posting]]) -> dict[str, dict[str, Any]]:
    search_store._written.clear()
    db = FakeDb(docs)
    asyncio.run(_file_terms(db, removes, packed_by_term(adds)))  # type: ignore[arg-type]
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


def test_a_tail_spread_over_many_blocks_moves_to_its_epoch_documents() -> None:
    seqs = [i * (BLOCK_SIZE // 2) for i in range(TAIL_MAX)] + [(TAIL_MAX // 32 + 2) * EPOCH_SIZE + 7]
    tail = [Posting(s, 5 if s % 2 else -1, f"l{s}") for s in seqs[:-1]]
    adding = Posting(seqs[-1], 5, "next")
    docs = filed({head_id("kw:rare"): {"_id": head_id("kw:rare"), **head(tail)}}, {},
                 {"kw:rare": {adding.seq: adding}})
    epochs = sorted({str(s // EPOCH_SIZE) for s in seqs})
    assert set(docs) == {head_id("kw:rare"), *(epoch_posting_id("kw:rare", e) for e in epochs)}, \
        "no block or cell documents"
    moved = [p for e in epochs for p in unpack(docs[epoch_posting_id("kw:rare", e)]["d"])]
    assert sorted(p.seq for p in moved) == seqs
    blocks, cells = record_keys(pack([*tail, adding]))
    assert docs[head_id("kw:rare")] == {"_id": head_id("kw:rare"), **head([]), "e": " ".join(sorted(blocks)),
                                        "f": " ".join(sorted(cells))}
    # Withdrawn again: out of its epoch document, the head's keys follow.
    docs = filed(docs, {"kw:rare": {adding.seq: adding.price}}, {})
    assert str(adding.seq // BLOCK_SIZE) not in docs[head_id("kw:rare")]["e"].split()
    assert epoch_posting_id("kw:rare", str(adding.seq // EPOCH_SIZE)) not in docs, "emptied, so deleted"


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
# search reads them back in order, newest first and cheapest first. The tail limit is made small so that
# postings move often; `spread` (SPREAD_SEQS) sends all moves (0), some (a block) or, with these seqs,
# none (ten blocks) to epoch documents.
_terms = st.sampled_from(["all", "kw:a", "kw:b"])
_change = st.tuples(st.sampled_from(["publish", "reprice", "withdraw"]), st.integers(0, 30),
                    st.sampled_from([5, 70_000_000, -1]), st.sets(_terms, min_size=1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_change, min_size=1, max_size=6), min_size=1, max_size=8),
       st.sampled_from([0, BLOCK_SIZE, 10 * BLOCK_SIZE]))
def test_any_batches_leave_each_posting_filed_once(batches: list[list[tuple[str, int, int, set[str]]]],
                                                    spread: int) -> None:
    db = FakeDb({})
    filed: dict[str, dict[int, Posting]] = {}  # term -> seq -> posting, the truth
    listings: dict[int, tuple[int, set[str]]] = {}  # listing number -> (seq, terms) while published
    next_seq = iter(range(0, 10 * BLOCK_SIZE, BLOCK_SIZE // 3))  # across blocks and price epochs
    search_store._written.clear()
    with patch.object(search_store, "TAIL_MAX", 3), patch.object(search_store, "_cache", ReadCache(0)), \
            patch.object(search, "SPREAD_SEQS", spread):
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
            asyncio.run(_file_terms(db, removes, packed_by_term(adds)))  # type: ignore[arg-type]
            for term in ("all", "kw:a", "kw:b"):
                doc = db.collection.docs.get(head_id(term), {})
                tail = unpack(bytes(doc.get("t") or b""))
                in_epochs: list[Posting] = []
                for epoch in sorted({epoch_of(b, False) for b in (doc.get("e") or "").split()}):
                    in_epochs += unpack(bytes(db.collection.docs[epoch_posting_id(term, epoch)]["d"]))
                assert not any(k.startswith(epoch_posting_id(term, "")) and k[len(epoch_posting_id(term, "")):]
                               not in {epoch_of(b, False) for b in (doc.get("e") or "").split()}
                               for k in db.collection.docs), "every epoch document is named by its head"
                assert (" ".join(sorted(record_keys(pack(in_epochs))[0])), " ".join(sorted(record_keys(
                    pack(in_epochs))[1]))) == (doc.get("e") or "", doc.get("f") or "")
                places = [*tail, *in_epochs]
                for key in (doc.get("b") or "").split():
                    places += unpack(bytes(db.collection.docs[posting_id(term, key)]["d"]))
                assert sorted(p.seq for p in places) == sorted(filed.get(term, {})), "each posting once"
                assert {p.seq: p for p in places} == filed.get(term, {})
                cells = [unpack(bytes(db.collection.docs[price_posting_id(term, c)]["d"]))
                         for c in (doc.get("q") or "").split()]
                assert sorted(p.seq for c in cells for p in c) == sorted(
                    p.seq for p in filed.get(term, {}).values() if p not in tail and p not in in_epochs)
                query = SearchQuery(keywords=(term[3:],)) if term != "all" else SearchQuery()
                page, _more = asyncio.run(search_store.search(db, query))  # type: ignore[arg-type]
                assert [p.seq for p in page] == sorted(filed.get(term, {}), reverse=True)[:20]
                cheapest = SearchQuery(keywords=query.keywords, sort=SearchSort.PRICE_ASC)
                page, _more = asyncio.run(search_store.search(db, cheapest))  # type: ignore[arg-type]
                assert page == sorted(filed.get(term, {}).values(),
                                      key=lambda p: sort_key(SearchSort.PRICE_ASC, p))[:20]
    search_store._written.clear()


def test_a_search_reads_each_epoch_document_once_however_many_blocks_it_serves() -> None:
    seqs = [i * (BLOCK_SIZE // 4) for i in range(TAIL_MAX + 1)]  # a rare term: 4 postings a block
    postings = {s: Posting(s, 5, f"l{s}") for s in seqs}
    docs = filed({}, {}, {"kw:rare": postings})
    assert any(k.startswith(epoch_posting_id("kw:rare", "")) for k in docs), "moved to epoch documents"
    db = FakeDb(docs)
    reads: list[str] = []
    find_one = db.collection.find_one

    async def counting(query: dict[str, Any]) -> dict[str, Any] | None:
        reads.append(query["_id"])
        return await find_one(query)

    db.collection.find_one = counting  # type: ignore[method-assign]
    with patch.object(search_store, "_cache", ReadCache(0)):  # the cache off: every read goes to the store
        page, more = asyncio.run(search_store.search(db, SearchQuery(keywords=("rare",), limit=60)))  # type: ignore[arg-type]
    assert [p.seq for p in page] == sorted(seqs, reverse=True)[:60] and more
    epoch_reads = [r for r in reads if r.startswith(epoch_posting_id("kw:rare", ""))]
    assert epoch_reads and len(epoch_reads) == len(set(epoch_reads)), "each epoch document read once"


def test_a_moving_tails_records_are_grouped_as_block_key_price_cell_and_epoch_key_name_their_documents() -> None:
    rng = random.Random(7)
    postings = [Posting(seq, rng.choice([NEGOTIABLE, 0, 5, 99_999, 70_000_000, 10 ** 13]), f"l{seq}")
                for seq in sorted(rng.sample(range(20 * EPOCH_SIZE), 600))]
    by_block, by_cell = records_by_document(pack(postings))
    assert {k: unpack(v) for k, v in by_block.items()} == {
        key: [p for p in postings if block_key(p.seq) == key] for key in {block_key(p.seq) for p in postings}}
    assert {k: unpack(v) for k, v in by_cell.items()} == {
        key: [p for p in postings if price_cell(p.price, p.seq) == key]
        for key in {price_cell(p.price, p.seq) for p in postings}}
    assert {k: unpack(v) for k, v in records_by_epoch(pack(postings)).items()} == {
        key: [p for p in postings if epoch_key(p.seq) == key] for key in {epoch_key(p.seq) for p in postings}}
