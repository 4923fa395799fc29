"""The search read-model cache: reuse while the generation is unchanged, drop when it moves, bounded size.
A dictionary stands in for the store (pure logic of the cache only; the stack tests use FerretDB)."""

from __future__ import annotations

import asyncio
from typing import Any

from bson import Binary
from trading.listings.search import Posting, pack
from trading.listings.search_store import GENERATION_ID, POSTINGS, ReadCache


class FakeCollection:
    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.docs = docs
        self.reads: list[str] = []

    async def find_one(self, query: dict[str, str]) -> dict[str, Any] | None:
        self.reads.append(query["_id"])
        return self.docs.get(query["_id"])


class FakeDb:
    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.collection = FakeCollection(docs)

    def __getitem__(self, name: str) -> FakeCollection:
        assert name == POSTINGS
        return self.collection


def test_documents_are_reused_until_the_generation_moves() -> None:
    db = FakeDb({GENERATION_ID: {"n": 1}, "h|a": {"b": {"0": 1}}})
    cache = ReadCache(1024 * 1024)

    async def scenario() -> None:
        await cache.validate(db)  # type: ignore[arg-type]
        assert await cache.read(db, ["h|a", "h|missing"]) == [{"b": {"0": 1}}, None]  # type: ignore[arg-type]
        await cache.validate(db)  # type: ignore[arg-type]
        assert await cache.read(db, ["h|missing", "h|a"]) == [None, {"b": {"0": 1}}]  # type: ignore[arg-type]
        assert db.collection.reads == [GENERATION_ID, "h|a", "h|missing", GENERATION_ID]
        db.collection.docs["h|a"] = {"b": {"0": 2}}
        db.collection.docs[GENERATION_ID] = {"n": 2}
        await cache.validate(db)  # type: ignore[arg-type]
        assert await cache.read(db, ["h|a"]) == [{"b": {"0": 2}}]  # type: ignore[arg-type]

    asyncio.run(scenario())


def test_size_bound_and_off() -> None:
    docs = {f"c|{i}": {"j": "x" * 1000} for i in range(10)}
    db = FakeDb(docs)

    async def scenario() -> None:
        small = ReadCache(3 * 1100)
        for i in range(10):
            await small.read(db, [f"c|{i}"])  # type: ignore[arg-type]
        db.collection.reads.clear()
        await small.read(db, ["c|9", "c|0"])  # type: ignore[arg-type]
        assert db.collection.reads == ["c|0"], "the newest stayed, the oldest was evicted"
        off = ReadCache(0)
        db.collection.reads.clear()
        await off.read(db, ["c|1"])  # type: ignore[arg-type]
        await off.read(db, ["c|1"])  # type: ignore[arg-type]
        assert db.collection.reads == ["c|1", "c|1"]

    asyncio.run(scenario())


def test_postings_are_kept_decoded() -> None:
    posting = Posting(7, 100, "lst-a")
    db = FakeDb({GENERATION_ID: {"n": 1}, "p|kw:x|0": {"d": Binary(pack([posting]))}})
    cache = ReadCache(1024 * 1024)

    async def scenario() -> None:
        await cache.validate(db)  # type: ignore[arg-type]
        first = await cache.postings(db, ["p|kw:x|0", "p|kw:y|0"])  # type: ignore[arg-type]
        again = await cache.postings(db, ["p|kw:x|0"])  # type: ignore[arg-type]
        block = first[0]
        assert block is not None and first[1] is None and again[0] is block, "decoded once, then reused"
        assert block.posting_at(block.find(7)) == posting
        assert db.collection.reads == [GENERATION_ID, "p|kw:x|0", "p|kw:y|0"]

    asyncio.run(scenario())


def test_this_process_changes_drop_only_what_they_wrote() -> None:
    db = FakeDb({GENERATION_ID: {"n": 1}, "h|a": {"b": {"0": 1}}, "c|x": {"j": "{}"}})
    cache = ReadCache(1024 * 1024, check_seconds=60)

    async def scenario() -> None:
        await cache.validate(db)  # type: ignore[arg-type]
        await cache.read(db, ["h|a", "c|x"])  # type: ignore[arg-type]
        db.collection.docs["h|a"] = {"b": {"0": 1, "1": 1}}
        db.collection.docs[GENERATION_ID] = {"n": 2}
        cache.changed_here({"h|a"}, 2)  # the indexer's bump after writing h|a
        db.collection.reads.clear()
        await cache.validate(db)  # type: ignore[arg-type]
        assert await cache.read(db, ["h|a", "c|x"]) == [  # type: ignore[arg-type]
            {"b": {"0": 1, "1": 1}}, {"j": "{}"}]
        assert db.collection.reads == ["h|a"], "only the written document is read again, not the generation"
        db.collection.docs[GENERATION_ID] = {"n": 4}
        cache.changed_here({"h|a"}, 4)  # someone else bumped it to 3 meanwhile: everything goes
        db.collection.reads.clear()
        await cache.validate(db)  # type: ignore[arg-type]
        await cache.read(db, ["c|x"])  # type: ignore[arg-type]
        assert db.collection.reads == [GENERATION_ID, "c|x"]

    asyncio.run(scenario())


def test_a_read_in_flight_while_documents_are_dropped_is_not_kept() -> None:
    db = FakeDb({GENERATION_ID: {"n": 1}, "c|x": {"j": "old"}})
    cache = ReadCache(1024 * 1024, check_seconds=60)
    original = db.collection.find_one

    async def racing_find_one(query: dict[str, str]) -> dict[str, Any] | None:
        found = await original(query)
        if query["_id"] == "c|x" and found == {"j": "old"}:  # the indexer writes and bumps meanwhile
            db.collection.docs["c|x"] = {"j": "new"}
            db.collection.docs[GENERATION_ID] = {"n": 2}
            cache.changed_here({"c|x"}, 2)
        return found

    async def scenario() -> None:
        await cache.validate(db)  # type: ignore[arg-type]
        db.collection.find_one = racing_find_one  # type: ignore[method-assign]
        assert await cache.read(db, ["c|x"]) == [{"j": "old"}]  # type: ignore[arg-type]
        assert await cache.read(db, ["c|x"]) == [{"j": "new"}], "the old copy was not kept"  # type: ignore[arg-type]

    asyncio.run(scenario())


def test_a_generation_document_not_bumped_yet_is_generation_zero() -> None:
    """A new catalogue's first batch lists its segment in the generation document before anything has
    bumped its count; a search then read it and answered 500 (KeyError)."""
    db = FakeDb({GENERATION_ID: {"s": "1"}})
    cache = ReadCache(1024 * 1024)
    asyncio.run(cache.validate(db))  # type: ignore[arg-type]
    assert cache.generation == 0
