"""Batch segments (search_store, "batch segments"): a batch of new listings is one segment document that
searches read as more of each term's tail; a fold merges the live segments into the heads and leaves
searches answering the same; a batch that takes postings out folds the live segments with its own
changes; and a fold run again after a crash (heads written, segments still live) files each posting once.
Rare terms wait in a carry segment, which a fold replaces and never folds alone.
Against an in-memory stand-in of the postings collection: the pure bookkeeping, not FerretDB."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
import servicekit.mongo
from trading.listings import search_store
from trading.listings.indexer import SEGMENT_FOLDER
from trading.listings.search import Posting, pack, unpack
from trading.listings.search_store import (
    GENERATION_ID,
    Segment,
    head_id,
    live_numbers,
    segment_document,
    segment_id,
)

from tests.unit.trading_catalogue.fake_postings import FakeDb, batch, found, fresh_search_state, posting


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from fresh_search_state(monkeypatch)


def test_a_segment_keeps_each_terms_postings() -> None:
    adds = batch((7, ["kw:a"]), (8, ["kw:a", "kw:b"]), (9, []))
    segment = search_store.Segment.of_document(segment_document(7, adds))
    assert len(segment) == 3
    assert segment.by_term["kw:a"] == pack([posting(7), posting(8)])
    assert segment.by_term["all"] == pack([posting(7), posting(8), posting(9)])
    assert {t: [p.seq for p in ps] for t, ps in segment.postings_by_term().items()} == {
        "all": [7, 8, 9], "kw:a": [7, 8], "kw:b": [8]}
    assert isinstance(segment, Segment)


def test_searches_read_live_segments_and_a_fold_leaves_the_same_answers() -> None:
    db = FakeDb()

    async def write() -> None:
        await search_store._add_segment(db, 1, batch((1, ["kw:a"]), (2, ["kw:b"])))  # type: ignore[arg-type]
        await search_store._add_segment(db, 3, batch((3, ["kw:a", "kw:b"])))  # type: ignore[arg-type]

    asyncio.run(write())
    assert live_numbers(db.collection.docs[GENERATION_ID]) == (1, 3)
    assert head_id("all") not in db.collection.docs, "a batch of new listings writes no head"
    before = (found(db), found(db, keywords=("a",)), found(db, keywords=("a", "b")))
    assert before == ([3, 2, 1], [3, 1], [3])
    assert search_store.live_listings() == 3

    folded = asyncio.run(search_store.fold_live_segments(db, at_least=3, idle_seconds=3600))  # type: ignore[arg-type]
    assert folded == 3
    assert live_numbers(db.collection.docs[GENERATION_ID]) == ()
    assert segment_id(1) not in db.collection.docs and segment_id(3) not in db.collection.docs
    assert [p.seq for p in unpack(bytes(db.collection.docs[head_id("kw:a")]["t"]))] == [1, 3]
    assert (found(db), found(db, keywords=("a",)), found(db, keywords=("a", "b"))) == before


def test_the_folder_waits_for_enough_listings_or_a_quiet_spell() -> None:
    db = FakeDb()
    asyncio.run(search_store._add_segment(db, 1, batch((1, ["kw:a"]))))  # type: ignore[arg-type]
    assert asyncio.run(search_store.fold_live_segments(db, at_least=2, idle_seconds=3600)) == 0  # type: ignore[arg-type]
    assert live_numbers(db.collection.docs[GENERATION_ID]) == (1,)
    assert asyncio.run(search_store.fold_live_segments(db, at_least=2, idle_seconds=0)) == 1  # type: ignore[arg-type]
    assert live_numbers(db.collection.docs[GENERATION_ID]) == ()


def test_a_batch_with_removals_folds_the_live_segments_with_its_changes() -> None:
    db = FakeDb()
    asyncio.run(search_store._add_segment(db, 1, batch((1, ["kw:a"]), (2, ["kw:a"]))))  # type: ignore[arg-type]
    # Listing 1 is filed again under kw:b instead of kw:a (same seq), while still only in its segment.
    moved = posting(1)
    asyncio.run(search_store._fold_into_heads(
        db, {"all": {1: moved.price}, "kw:a": {1: moved.price}},  # type: ignore[arg-type]
        {"all": {1: moved}, "kw:b": {1: moved}}, bump=True))
    assert live_numbers(db.collection.docs[GENERATION_ID]) == ()
    assert (found(db), found(db, keywords=("a",)), found(db, keywords=("b",))) == ([2, 1], [2], [1])


def test_a_fold_run_again_after_a_crash_files_each_posting_once() -> None:
    db = FakeDb()
    adds = batch((1, ["kw:a"]), (2, ["kw:a"]))
    asyncio.run(search_store._add_segment(db, 1, adds))  # type: ignore[arg-type]
    segment = dict(db.collection.docs[segment_id(1)])
    asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600))  # type: ignore[arg-type]
    # As if the fold had stopped after writing the heads: the segment still there and still live.
    db.collection.docs[segment_id(1)] = segment
    db.collection.docs[GENERATION_ID]["s"] = "1"
    search_store._live = None
    search_store._written.clear()
    assert found(db, keywords=("a",)) == [2, 1], "in a head and a live segment, counted once"
    asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600))  # type: ignore[arg-type]
    assert [p.seq for p in unpack(bytes(db.collection.docs[head_id("kw:a")]["t"]))] == [1, 2]
    assert found(db, keywords=("a",)) == [2, 1]


def test_the_indexers_copies_outlive_this_processes_bumps_but_not_anyone_elses() -> None:
    copies = search_store.WrittenCopies(1024 * 1024)
    assert copies.known_generation(5) is False, "nothing held yet"
    copies.put("h4|kw:a", {"_id": "h4|kw:a"})
    copies.bumped_to(6)  # a batch's bump
    copies.bumped_to(7)  # the folder's, made while the next batch was reading the generation
    assert copies.known_generation(6) is True, "a read the folder's bump overtook is still this process's"
    assert copies.known_generation(7) is True
    assert "h4|kw:a" in copies._docs
    assert copies.known_generation(8) is False, "someone else bumped it"
    assert "h4|kw:a" not in copies._docs
    copies.put("h4|kw:a", {"_id": "h4|kw:a"})
    copies.bumped_to(10)  # one more than 8 was expected: someone else bumped in between
    assert "h4|kw:a" not in copies._docs
    assert copies.known_generation(10) is True


def test_reads_in_flight_are_bounded_and_answer_in_order() -> None:
    db = FakeDb()
    for i in range(70):
        db.collection.docs[f"d{i}"] = {"_id": f"d{i}"}
    in_flight = peak = 0
    find_one = db.collection.find_one

    async def counting(query: dict[str, Any]) -> dict[str, Any] | None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        return await find_one(query)

    db.collection.find_one = counting  # type: ignore[method-assign]
    ids = [f"d{i}" for i in range(70)] + ["missing"]
    found = asyncio.run(search_store._read_at_most(db, ids, 8))  # type: ignore[arg-type]
    assert [d["_id"] if d else None for d in found] == [*ids[:-1], None]
    assert peak == 8


def seqs_taken(up_to: int) -> FakeDb:
    """A store whose seqs up to `up_to` are reserved (as the indexer reserves its batches' seqs), so the
    carry's own reserved number is a fresh one."""
    return FakeDb({search_store.SEQ_ID: {"_id": search_store.SEQ_ID, "n": up_to}})


def carry_of(db: FakeDb) -> dict[str, list[int]]:
    """The live carry's postings by term (seqs), {} when none is live."""
    out: dict[str, list[int]] = {}
    for number in live_numbers(db.collection.docs[GENERATION_ID]):
        segment = search_store.Segment.of_document(db.collection.docs[segment_id(number)])
        if segment.carry:
            for term, postings in segment.postings_by_term().items():
                out.setdefault(term, []).extend(p.seq for p in postings)
    return out


def test_the_carry_takes_the_rarest_terms_up_to_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_store, "CARRY_BELOW", 3)
    monkeypatch.setattr(search_store, "CARRY_MAX_POSTINGS", 4)
    counts = {"common": 5, "kw:a": 2, "kw:b": 1, "kw:c": 1, "kw:d": 0, "kw:e": 1}
    assert search_store.carried_terms(counts, changed={"kw:e"}) == {"kw:a", "kw:b", "kw:c"}, \
        "below CARRY_BELOW and not changed by the batch; an emptied term is not carried"
    counts["kw:f"] = 2
    assert search_store.carried_terms(counts, changed=()) == {"kw:c", "kw:e"}, \
        "over the limit, the terms with most postings go to their heads until it holds half"


def test_a_fold_leaves_rare_terms_in_the_carry_until_they_gather_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_store, "CARRY_BELOW", 3)
    db = seqs_taken(99)
    asyncio.run(search_store._add_segment(db, 1, batch((1, ["kw:a"]), (2, ["kw:a", "kw:b"]), (3, ["kw:a"]))))  # type: ignore[arg-type]
    before = (found(db), found(db, keywords=("a",)), found(db, keywords=("b",)))
    assert asyncio.run(search_store.fold_live_segments(db, at_least=3, idle_seconds=3600)) == 3  # type: ignore[arg-type]
    assert head_id("kw:b") not in db.collection.docs, "one posting: its head is not written"
    assert [p.seq for p in unpack(bytes(db.collection.docs[head_id("kw:a")]["t"]))] == [1, 2, 3]
    assert carry_of(db) == {"kw:b": [2]}
    assert (found(db), found(db, keywords=("a",)), found(db, keywords=("b",))) == before
    assert search_store.live_listings() == 0 and search_store.carried_postings() == 1
    alone = asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=0))  # type: ignore[arg-type]
    assert alone == 0, "the carry alone is not folded, however long it waits"
    carry = live_numbers(db.collection.docs[GENERATION_ID])

    asyncio.run(search_store._add_segment(db, 10, batch((10, ["kw:b"]), (11, ["kw:b", "kw:c"]))))  # type: ignore[arg-type]
    assert asyncio.run(search_store.fold_live_segments(db, at_least=2, idle_seconds=3600)) == 2  # type: ignore[arg-type]
    assert [p.seq for p in unpack(bytes(db.collection.docs[head_id("kw:b")]["t"]))] == [2, 10, 11], \
        "with the carry's posting, kw:b has enough: its head gets all three"
    assert carry_of(db) == {"all": [10, 11], "kw:c": [11]}
    assert all(segment_id(n) not in db.collection.docs for n in carry), "the old carry is deleted"
    assert found(db, keywords=("b",)) == [11, 10, 2] and found(db, keywords=("c",)) == [11]


def test_a_batch_with_removals_rewrites_the_carry_only_when_it_holds_their_terms(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_store, "CARRY_BELOW", 3)
    db = seqs_taken(99)
    asyncio.run(search_store._add_segment(db, 1, batch((1, ["kw:a"]), (2, ["kw:b"]), (3, []))))  # type: ignore[arg-type]
    asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600))  # type: ignore[arg-type]
    assert carry_of(db) == {"kw:a": [1], "kw:b": [2]}
    carry = live_numbers(db.collection.docs[GENERATION_ID])
    # Listing 3 (only under "all", which has a head) is withdrawn: the carry stays as it is.
    asyncio.run(search_store._fold_into_heads(db, {"all": {3: posting(3).price}}, {}, bump=True))  # type: ignore[arg-type]
    assert live_numbers(db.collection.docs[GENERATION_ID]) == carry
    assert found(db) == [2, 1]
    # Listing 1 is withdrawn: its term is in the carry, which is folded with the change.
    asyncio.run(search_store._fold_into_heads(
        db, {"all": {1: posting(1).price}, "kw:a": {1: posting(1).price}}, {}, bump=True))  # type: ignore[arg-type]
    assert carry_of(db) == {"kw:b": [2]}
    assert (found(db), found(db, keywords=("a",)), found(db, keywords=("b",))) == ([2], [], [2])


def test_only_the_folders_own_run_rests_between_its_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder pauses between its writes (`search_fold_rest`) so requests find the store free; the
    indexer's batches (a batch with removals folds too), which the search delay waits for, never do."""
    db = FakeDb()
    rest_at_each_write: list[float] = []
    write = servicekit.mongo.bulk_write_in_batches

    async def recording(collection: Any, operations: list[Any], ordered: bool = False, **kw: Any) -> None:
        rest = search_store._fold_rest.get()
        rest_at_each_write.append(0.0 if rest is None else rest.share)
        await write(collection, operations, ordered, **kw)

    monkeypatch.setattr(search_store, "bulk_write_in_batches", recording)
    asyncio.run(search_store._add_segment(db, 1, batch((1, ["kw:a"]), (2, ["kw:a"]))))  # type: ignore[arg-type]
    moved = posting(1)
    asyncio.run(search_store._fold_into_heads(
        db, {"all": {1: moved.price}, "kw:a": {1: moved.price}}, {"all": {1: moved}, "kw:b": {1: moved}},  # type: ignore[arg-type]
        bump=True))
    assert rest_at_each_write and set(rest_at_each_write) == {0.0}
    rest_at_each_write.clear()
    asyncio.run(search_store._add_segment(db, 3, batch((3, ["kw:c"]))))  # type: ignore[arg-type]
    folded = asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600, rest=0.25))  # type: ignore[arg-type]
    assert folded == 1
    assert rest_at_each_write and set(rest_at_each_write) == {0.25}
    assert search_store._fold_rest.get() is None, "the rest stays in the folder's own task"
    assert (found(db, keywords=("b",)), found(db, keywords=("c",))) == ([1], [3])


def test_a_fold_rests_no_longer_than_its_allowance() -> None:
    """Resting stops once the fold has rested FOLD_REST_MAX_SECONDS in all, so a large fold still ends
    within its run's budget."""
    async def two_slow_groups() -> search_store._Rest:
        rest = search_store._Rest(share=1.0, left=0.02)
        search_store._fold_rest.set(rest)
        await search_store._rest_after(time.monotonic() - 10)  # a group that took 10 s: rests 0.02 s, not 10
        assert rest.left == 0
        await search_store._rest_after(time.monotonic() - 10)  # nothing left: no rest at all
        return rest

    assert asyncio.run(two_slow_groups()).left == 0
    # The allowance leaves most of the folder's budget for the fold's own work.
    assert SEGMENT_FOLDER.budget_seconds / 4 >= search_store.FOLD_REST_MAX_SECONDS


def test_after_its_rest_a_fold_waits_while_requests_crowd_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """After each pause the folder looks at the requests being served and goes on only once they are no
    more than `yield_above` (or its allowance is spent); with 0 it never looks."""
    served = [5, 4, 3, 2, 9]
    looks: list[int] = []

    def being_served() -> int:
        looks.append(served[0] if served else 0)
        return served.pop(0) if served else 0

    monkeypatch.setattr(search_store, "requests_being_served", being_served)
    monkeypatch.setattr(search_store, "FOLD_YIELD_POLL_SECONDS", 0.001)

    async def one_rest(rest: search_store._Rest) -> search_store._Rest:
        search_store._fold_rest.set(rest)
        await search_store._rest_after(time.monotonic())
        return rest

    before = search_store.fold_yielded_seconds()
    rest = asyncio.run(one_rest(search_store._Rest(share=1.0, left=10.0, yield_above=2)))
    assert looks == [5, 4, 3, 2], "it waited through 5, 4 and 3 requests and went on at 2"
    assert served == [9]
    assert 10.0 - 0.5 < rest.left <= 10.0 - 3 * 0.001, "the waits came out of its allowance"
    assert search_store.fold_yielded_seconds() > before

    looks.clear()
    asyncio.run(one_rest(search_store._Rest(share=1.0, left=10.0, yield_above=0)))
    assert looks == [], "0: it never waits"

    served[:] = [9] * 100
    looks.clear()
    spent = asyncio.run(one_rest(search_store._Rest(share=1.0, left=0.003, yield_above=2)))
    assert 1 <= len(looks) <= 5 and spent.left <= 0, "it stops waiting once its allowance is spent"


def test_a_fold_stops_resting_and_waiting_once_another_folds_worth_is_live(monkeypatch: pytest.MonkeyPatch) -> None:
    """Publishing goes on while a fold rests and waits for lulls: once the live segments hold FOLD_BEHIND_AT
    times the threshold again (as the API's process counts them, in shared memory for the folder's
    process), the fold goes on at full speed."""
    monkeypatch.setattr(search_store, "requests_being_served", lambda: 9)
    monkeypatch.setattr(search_store, "FOLD_YIELD_POLL_SECONDS", 0.001)
    cell = search_store.live_count_cell()
    monkeypatch.setattr(cell, "value", 0)

    async def rests(rest: search_store._Rest, live_after: float) -> search_store._Rest:
        search_store._fold_rest.set(rest)

        async def publishing_goes_on() -> None:
            await asyncio.sleep(live_after)
            cell.value = rest.behind_at

        grows = asyncio.create_task(publishing_goes_on())
        await search_store._rest_after(time.monotonic())
        await search_store._rest_after(time.monotonic())
        await grows
        return rest

    began = time.monotonic()
    rest = asyncio.run(rests(search_store._Rest(share=1.0, left=10.0, yield_above=2, behind_at=2000), 0.05))
    assert time.monotonic() - began < 1.0, "it stopped waiting once 2,000 listings were live"
    assert rest.share == 0.0, "and rests no more in this fold"
    assert rest.left > 9.0

    cell.value = 0
    began = time.monotonic()
    asyncio.run(rests(search_store._Rest(share=1.0, left=0.2, yield_above=2, behind_at=0), 0.0))
    assert time.monotonic() - began >= 0.2, "0: no limit, it waits its whole allowance"


def test_a_folder_that_fell_behind_folds_without_resting(monkeypatch: pytest.MonkeyPatch) -> None:
    db = FakeDb()
    rests: list[float] = []
    write = servicekit.mongo.bulk_write_in_batches

    async def recording(collection: Any, operations: list[Any], ordered: bool = False, **kw: Any) -> None:
        rest = search_store._fold_rest.get()
        rests.append(0.0 if rest is None else rest.share)
        await write(collection, operations, ordered, **kw)

    monkeypatch.setattr(search_store, "bulk_write_in_batches", recording)
    # Two listings live against a threshold of one: FOLD_BEHIND_AT times it.
    asyncio.run(search_store._add_segment(db, 1, batch((1, ["kw:a"]), (2, ["kw:b"]))))  # type: ignore[arg-type]
    assert asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600, rest=1.0)) == 2  # type: ignore[arg-type]
    assert rests and set(rests) == {0.0}


def _merged_by_postings(segments: list[dict[str, dict[int, Posting]]], removes: dict[str, dict[int, int]],
                        adds: dict[str, dict[int, Posting]]) -> dict[str, dict[int, Posting]]:
    """A fold's merge spelled with postings (what `_merged_for_fold` did before it kept records): the
    segments' postings, later ones over earlier, less the removals, then the batch's additions."""
    merged: dict[str, dict[int, Posting]] = {}
    for segment in segments:
        for term, by_seq in segment.items():
            merged.setdefault(term, {}).update(by_seq)
    for term, gone in removes.items():
        for seq in gone:
            merged.get(term, {}).pop(seq, None)
    for term, by_seq in adds.items():
        merged.setdefault(term, {}).update(by_seq)
    return merged


@pytest.mark.parametrize("seed", range(40))
def test_a_folds_merge_of_records_files_and_carries_what_a_merge_of_postings_would(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(search_store, "CARRY_BELOW", rng.choice((1, 2, 3, 8)))
    monkeypatch.setattr(search_store, "CARRY_MAX_POSTINGS", rng.choice((4, 100_000)))
    terms = [f"kw:{n}" for n in range(12)]
    # Segments of consecutive seqs, in order or (batches reserving seqs and writing out of turn) not,
    # a carry of older seqs first or not.
    starts = list(range(1, 200, 20))
    if rng.random() < 0.5:
        rng.shuffle(starts)
    segments = [{t: {s: posting(s, s % 9 + 1) for s in range(start, start + rng.randint(1, 19))
                     if rng.random() < 0.4}
                 for t in rng.sample(terms, rng.randint(1, 6))} for start in starts[:rng.randint(1, 6)]]
    segments = [{t: ps for t, ps in s.items() if ps} for s in segments]
    segments = [s for s in segments if s]
    every_seq = sorted({seq for s in segments for ps in s.values() for seq in ps})
    removes = {t: {seq: 0 for seq in rng.sample(every_seq, min(len(every_seq), rng.randint(0, 4)))}
               for t in rng.sample(terms, rng.randint(0, 3))}
    refiled = [*rng.sample(every_seq, min(len(every_seq), rng.randint(0, 2))), rng.randint(300, 310)]
    adds = {t: {seq: posting(seq, 77) for seq in refiled} for t in rng.sample(terms, rng.randint(0, 3))}
    decoded = [search_store.Segment.of_document(segment_document(n, s)) for n, s in enumerate(segments)]

    folded_terms, to_file, carried = search_store._merged_for_fold(decoded, removes, adds)

    expected = _merged_by_postings(segments, removes, adds)
    expected_carried = search_store.carried_terms({t: len(p) for t, p in expected.items()}, {*removes, *adds})
    assert folded_terms == {t for s in segments for t in s}
    assert set(carried) == expected_carried
    assert {t: unpack(r) for t, r in to_file.items()} == {
        t: sorted(p.values()) for t, p in expected.items() if p and t not in expected_carried}
    assert {t: unpack(r) for t, r in carried.items()} == {t: sorted(expected[t].values()) for t in expected_carried}


def test_a_carry_is_a_segment_document_of_its_records_and_decodes_as_read_back() -> None:
    postings = {"kw:a": {3: posting(3), 9: posting(9, 800)}, "kw:b": {9: posting(9, 800)}, "all": {1: posting(1)}}
    doc, decoded = search_store.carry_segment(12, {t: pack(sorted(p.values())) for t, p in postings.items()})
    assert doc == {**segment_document(12, postings), "c": True}, "the shape of a batch's segment, marked"
    read_back = search_store.Segment.of_document(doc)
    assert (decoded.packed, decoded.by_term, decoded.carry) == (read_back.packed, read_back.by_term, True)
    assert len(decoded) == 3, "each listing's record once"


def test_a_segment_without_postings_does_not_stop_a_fold() -> None:
    empty = search_store.Segment.of_document(segment_document(1, {}))
    later = search_store.Segment.of_document(segment_document(5, {"kw:a": {5: posting(5)}}))
    _, to_file, _ = search_store._merged_for_fold([empty, later], {}, {})
    assert to_file == {"kw:a": pack([posting(5)])}
