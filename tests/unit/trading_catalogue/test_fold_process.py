"""The segment folder's merges and writes done in a process of their own (trading.listings.fold_process):
what the API's process hands it at each fold, what it does with that, and what the API does with its
answer. Both sides run here in one process against an in-memory stand-in of the postings collection (the
pure bookkeeping; tests/stack/trading_catalogue/test_search.py runs the real process on FerretDB)."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from trading.listings import fold_process, fold_trace, search_store
from trading.listings.search import pack, unpack
from trading.listings.search_store import GENERATION_ID, head_id, live_numbers, segment_id

from tests.unit.trading_catalogue.fake_postings import FakeDb, batch, found, fresh_search_state, posting


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from fresh_search_state(monkeypatch)


def test_the_api_hands_each_fold_what_it_wrote_since_the_last_and_takes_back_what_the_fold_wrote() -> None:
    db = FakeDb()
    handed: list[tuple[list[int], int, set[str], bool]] = []

    async def elsewhere(numbers: list[int], carry_seq: int, written: list[str],
                        dropped: bool) -> search_store.FoldDone:
        handed.append((list(numbers), carry_seq, set(written), dropped))
        done = await search_store.merge_and_file(db, numbers, {}, {}, carry_seq)  # type: ignore[arg-type]
        done.waited_seconds = 0.25
        return done

    search_store._written.known_generation(0)  # as the indexer's first batch finds it
    search_store.fold_in(elsewhere)
    asyncio.run(search_store._add_segment(db, 1, batch((1, ["kw:a"]), (2, ["kw:a"]))))  # type: ignore[arg-type]
    waited = search_store.fold_yielded_seconds()
    assert asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600)) == 2  # type: ignore[arg-type]
    assert [(n, d) for n, _, _, d in handed] == [([1], False)]
    assert handed[0][2] == set(), "nothing written here since folding moved elsewhere"
    assert search_store.fold_yielded_seconds() - waited == 0.25, "the fold's waits count as the folder's"
    assert head_id("kw:a") not in search_store._written._docs, "what the fold wrote is read again here"
    assert live_numbers(db.collection.docs[GENERATION_ID]) == () and segment_id(1) not in db.collection.docs
    assert found(db, keywords=("a",)) == [2, 1]

    # A batch with removals folds here, never elsewhere, and writes kw:a's head: the next fold is told.
    asyncio.run(search_store._add_segment(db, 3, batch((3, ["kw:a"]))))  # type: ignore[arg-type]
    asyncio.run(search_store._fold_into_heads(db, {"all": {1: 500}, "kw:a": {1: 500}}, {}, bump=True))  # type: ignore[arg-type]
    assert len(handed) == 1
    asyncio.run(search_store._add_segment(db, 4, batch((4, ["kw:b"]))))  # type: ignore[arg-type]
    asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600))  # type: ignore[arg-type]
    assert head_id("kw:a") in handed[1][2] and handed[1][3] is False
    assert found(db, keywords=("a",)) == [3, 2] and found(db, keywords=("b",)) == [4]

    # Copies dropped here (the generation moved, a write failed): the next fold drops its own.
    search_store._written.clear()
    asyncio.run(search_store._add_segment(db, 5, batch((5, ["kw:b"]))))  # type: ignore[arg-type]
    asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600))  # type: ignore[arg-type]
    assert handed[2][3] is True


def test_the_api_takes_the_folds_carry_as_the_folders_process_decoded_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The new carry comes back decoded (the API's process does not decode its document again), through
    the process pool's pickling, and searches find the rare terms' postings in it."""
    monkeypatch.setattr(search_store, "CARRY_BELOW", 2)
    db = FakeDb({search_store.SEQ_ID: {"_id": search_store.SEQ_ID, "n": 99}})  # the batch's seqs are taken
    returned: list[search_store.FoldDone] = []

    async def elsewhere(numbers: list[int], carry_seq: int, written: list[str],
                        dropped: bool) -> search_store.FoldDone:
        done = await search_store.merge_and_file(db, numbers, {}, {}, carry_seq)  # type: ignore[arg-type]
        search_store._segments.pop(carry_seq, None)  # the folder's process keeps its own copy, not this one
        returned.append(pickle.loads(pickle.dumps(done)))  # as the process pool hands it back
        return returned[-1]

    search_store._written.known_generation(0)
    search_store.fold_in(elsewhere)
    asyncio.run(search_store._add_segment(db, 1, batch((1, ["kw:a", "kw:rare"]), (2, ["kw:a", "kw:x y"]))))  # type: ignore[arg-type]
    asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600))  # type: ignore[arg-type]
    [done] = returned
    assert done.carry_number is not None and isinstance(done.carry, search_store.Segment) and done.carry.carry
    assert search_store._segments[done.carry_number] is done.carry
    assert live_numbers(db.collection.docs[GENERATION_ID]) == (done.carry_number,)
    assert {t: [p.seq for p in unpack(r)] for t, r in done.carry.by_term.items()} == {"kw:rare": [1], "kw:x y": [2]}
    stored = search_store.Segment.of_document(db.collection.docs[segment_id(done.carry_number)])
    assert stored.by_term == done.carry.by_term, "the carry as stored is the carry as handed back"
    assert found(db, keywords=("rare",)) == [1] and found(db, keywords=("a",)) == [2, 1]


def test_the_folders_process_starts_from_what_the_api_wrote_not_from_its_copy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    db = FakeDb()
    loop = asyncio.new_event_loop()
    monkeypatch.setattr(fold_process, "_child", fold_process._Child(loop, db, 300.0, 0.0, 0, 1000))  # type: ignore[arg-type]
    try:
        # The folder's process wrote kw:a's head with listings 1 and 2 and kept a copy of it; the API then
        # took listing 1 out of the head; now a segment holds listing 3.
        search_store._written.put(head_id("kw:a"), {"_id": head_id("kw:a"), "b": "", "q": "",
                                                    "t": pack([posting(1), posting(2)])})
        db.collection.docs[head_id("kw:a")] = {"_id": head_id("kw:a"), "b": "", "q": "", "t": pack([posting(2)])}
        loop.run_until_complete(search_store._add_segment(db, 3, batch((3, ["kw:a"]))))  # type: ignore[arg-type]
        done = fold_process._fold_in_child([3], 9, [head_id("kw:a")], False, resting=False)
        assert head_id("kw:a") in done.changed and done.carry is None
        assert [p.seq for p in unpack(bytes(db.collection.docs[head_id("kw:a")]["t"]))] == [2, 3]

        # Told to drop every copy (the API dropped its own), it drops this one too.
        search_store._written.put(head_id("kw:a"), {"_id": head_id("kw:a"), "t": pack([posting(1)])})
        loop.run_until_complete(search_store._add_segment(db, 4, batch((4, ["kw:b"]))))  # type: ignore[arg-type]
        fold_process._fold_in_child([4], 10, [], True, resting=False)
        assert head_id("kw:a") not in search_store._written._docs
    finally:
        loop.close()


def test_a_fold_whose_process_ended_is_done_here_from_the_store() -> None:
    db = FakeDb()

    async def gone(numbers: list[int], carry_seq: int, written: list[str], dropped: bool) -> search_store.FoldDone:
        # It wrote kw:a's head with listing 1 only, then ended.
        db.collection.docs[head_id("kw:a")] = {"_id": head_id("kw:a"), "b": "", "q": "", "t": pack([posting(1)])}
        raise search_store.FolderProcessGone()

    search_store._written.known_generation(0)
    search_store._written.put(head_id("kw:a"), None)  # this process's copy: no head yet
    search_store.fold_in(gone)
    asyncio.run(search_store._add_segment(db, 1, batch((1, ["kw:a"]), (2, ["kw:a"]))))  # type: ignore[arg-type]
    assert asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600)) == 2  # type: ignore[arg-type]
    assert [p.seq for p in unpack(bytes(db.collection.docs[head_id("kw:a")]["t"]))] == [1, 2], (
        "from the head as the ended process left it, each posting once")
    assert live_numbers(db.collection.docs[GENERATION_ID]) == () and segment_id(1) not in db.collection.docs
    assert found(db, keywords=("a",)) == [2, 1]


def test_a_traced_fold_notes_each_of_its_steps_and_a_batchs_own_fold_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_store, "CARRY_BELOW", 2)
    trace = tmp_path / "folds.jsonl"
    fold_trace.configure(str(trace))
    try:
        db = FakeDb({search_store.SEQ_ID: {"_id": search_store.SEQ_ID, "n": 99}})

        async def elsewhere(numbers: list[int], carry_seq: int, written: list[str],
                            dropped: bool) -> search_store.FoldDone:
            return await search_store.merge_and_file(db, numbers, {}, {}, carry_seq)  # type: ignore[arg-type]

        search_store.fold_in(elsewhere)
        asyncio.run(search_store._add_segment(db, 1, batch((1, ["kw:a", "kw:rare"]), (2, ["kw:a"]))))  # type: ignore[arg-type]
        asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600))  # type: ignore[arg-type]
        assert [name for _, name in fold_trace.read(trace)] == list(fold_trace.STEPS)

        trace.unlink()
        asyncio.run(search_store._fold_into_heads(db, {"all": {1: 500}, "kw:a": {1: 500}}, {}, bump=True))  # type: ignore[arg-type]
        assert fold_trace.read(trace) == [], "a batch folding its own removals is not the folder's run"
    finally:
        fold_trace.configure(None)


def test_the_apis_deletes_at_a_folds_end_rest_and_wait_for_a_second_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    """They hold the fold lock, which a withdrawal's batch waits for: under a load that never lulls they
    must not wait for the whole of a fold's allowance."""
    db = FakeDb()
    budgets: list[float] = []
    write_postings = search_store._write_postings

    async def noting_budget(db_: object, operations: list[object]) -> None:
        rest = search_store._fold_rest.get()
        budgets.append(-1.0 if rest is None else rest.left)
        await write_postings(db_, operations)  # type: ignore[arg-type]

    async def elsewhere(numbers: list[int], carry_seq: int, written: list[str],
                        dropped: bool) -> search_store.FoldDone:
        return search_store.FoldDone(set(), [])  # the folder's process wrote the heads

    monkeypatch.setattr(search_store, "_write_postings", noting_budget)
    search_store.fold_in(elsewhere)
    asyncio.run(search_store._add_segment(db, 1, batch((1, ["kw:a"]))))  # type: ignore[arg-type]
    asyncio.run(search_store.fold_live_segments(db, at_least=1, idle_seconds=3600, rest=1.0, yield_above=2))  # type: ignore[arg-type]
    assert budgets == [search_store.FOLD_END_REST_MAX_SECONDS] and segment_id(1) not in db.collection.docs
