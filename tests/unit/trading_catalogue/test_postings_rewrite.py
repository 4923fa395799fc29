"""The indexer's rewrite of postings documents: appending fresh postings to a packed value gives the
same documents as decoding, filtering and packing them again; heads are written only when a document
gains its first postings or loses its last."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from pymongo import UpdateOne
from trading.listings import search_store
from trading.listings.search import Posting, pack, unpack
from trading.listings.search_store import _rewrite_many, _Slot


class FakeCollection:
    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.docs = docs

    async def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        return self.docs.get(query["_id"])

    async def bulk_write(self, ops: list[UpdateOne], ordered: bool = False) -> None:
        for op in ops:
            query, update = cast(dict[str, Any], op._filter), cast(dict[str, Any], op._doc)
            doc = self.docs.setdefault(query["_id"], {"_id": query["_id"]})
            for field, value in update.get("$set", {}).items():
                doc[field] = value
            for field in update.get("$unset", {}):
                doc.pop(field, None)


class FakeDb:
    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.collection = FakeCollection(docs)

    def __getitem__(self, name: str) -> FakeCollection:
        return self.collection


def rewritten(fresh: set[int]) -> dict[str, dict[str, Any]]:
    search_store._written.clear()
    old = [Posting(1, 100, "lst-a"), Posting(2, -1, "lst-b")]
    db = FakeDb({"p|all|0": {"_id": "p|all|0", "d": pack(old)}})
    slots = {"p|all|0": _Slot("p|all|0", "h|all", "0"), "p|kw:xy|0": _Slot("p|kw:xy|0", "h|kw:xy", "0")}
    adds = {doc_id: {3: Posting(3, 500, "lst-c"), 4: Posting(4, 7, "lst-d")} for doc_id in slots}
    asyncio.run(_rewrite_many(db, slots, {}, adds, fresh=fresh))  # type: ignore[arg-type]
    search_store._written.clear()
    return {k: {f: bytes(v) if isinstance(v, bytes) else v for f, v in d.items()}
            for k, d in db.collection.docs.items()}


def test_appending_fresh_postings_equals_repacking() -> None:
    appended, repacked = rewritten({3, 4}), rewritten(set())
    assert appended == repacked
    assert [p.seq for p in unpack(appended["p|all|0"]["d"])] == [1, 2, 3, 4]
    assert "h|all" not in appended, "p|all|0 had postings already: its head is not written"
    assert appended["h|kw:xy"] == {"_id": "h|kw:xy", "b.0": 1}, "p|kw:xy|0 gained its first postings"


def test_a_head_entry_goes_when_its_document_loses_its_last_posting() -> None:
    search_store._written.clear()
    db = FakeDb({"p|all|0": {"_id": "p|all|0", "d": pack([Posting(1, 100, "lst-a"), Posting(2, -1, "lst-b")])},
                 "p|kw:xy|0": {"_id": "p|kw:xy|0", "d": pack([Posting(1, 100, "lst-a")])},
                 "h|all": {"_id": "h|all", "b.0": 1}, "h|kw:xy": {"_id": "h|kw:xy", "b.0": 1}})
    slots = {"p|all|0": _Slot("p|all|0", "h|all", "0"), "p|kw:xy|0": _Slot("p|kw:xy|0", "h|kw:xy", "0")}
    asyncio.run(_rewrite_many(db, slots, {doc_id: {1} for doc_id in slots}, {}))  # type: ignore[arg-type]
    search_store._written.clear()
    docs = db.collection.docs
    assert [p.seq for p in unpack(bytes(docs["p|all|0"]["d"]))] == [2]
    assert docs["h|all"] == {"_id": "h|all", "b.0": 1}, "p|all|0 still has a posting"
    assert bytes(docs["p|kw:xy|0"]["d"]) == b"" and docs["h|kw:xy"] == {"_id": "h|kw:xy"}, "its entry is gone"
