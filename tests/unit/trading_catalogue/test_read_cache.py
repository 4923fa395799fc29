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
