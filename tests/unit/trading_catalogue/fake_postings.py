"""An in-memory stand-in for the search read model's one collection, as search_store uses it (reads
by `_id`, inserts, `$set`/`$inc` updates, bulk writes): for unit tests of its bookkeeping, not of FerretDB;
and the postings those tests file and the searches they make."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, cast

from pymongo import DeleteOne, ReplaceOne, UpdateOne
from trading.listings import search_store
from trading.listings.search import Posting, SearchQuery


class FakeCollection:
    def __init__(self, docs: dict[str, dict[str, Any]] | None = None) -> None:
        self.docs: dict[str, dict[str, Any]] = {} if docs is None else docs

    async def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        return self.docs.get(query["_id"])

    async def insert_one(self, doc: dict[str, Any]) -> None:
        assert doc["_id"] not in self.docs
        self.docs[doc["_id"]] = dict(doc)

    def _update(self, query: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
        doc = self.docs.setdefault(query["_id"], {"_id": query["_id"]})
        doc.update(change.get("$set", {}))
        for field, by in change.get("$inc", {}).items():
            doc[field] = doc.get(field, 0) + by
        return doc

    async def update_one(self, query: dict[str, Any], change: dict[str, Any], upsert: bool = False) -> None:
        self._update(query, change)

    async def find_one_and_update(self, query: dict[str, Any], change: dict[str, Any], **_: Any) -> dict[str, Any]:
        return dict(self._update(query, change))

    async def bulk_write(self, ops: list[UpdateOne | ReplaceOne[dict[str, Any]] | DeleteOne],
                         ordered: bool = False) -> None:
        for op in ops:
            query = cast(dict[str, Any], op._filter)
            if isinstance(op, DeleteOne):
                self.docs.pop(query["_id"], None)
            elif isinstance(op, ReplaceOne):
                self.docs[query["_id"]] = dict(cast(dict[str, Any], op._doc))
            else:
                self._update(query, cast(dict[str, Any], op._doc))


class FakeDb:
    def __init__(self, docs: dict[str, dict[str, Any]] | None = None) -> None:
        self.collection = FakeCollection(docs)

    def __getitem__(self, name: str) -> FakeCollection:
        return self.collection


def posting(seq: int, price: int = 500) -> Posting:
    return Posting(seq, price, f"lst-{seq}", 110101, 8)


def batch(*listings: tuple[int, list[str]]) -> dict[str, dict[int, Posting]]:
    """A batch's new postings: each listing under "all" and its own terms."""
    adds: dict[str, dict[int, Posting]] = {}
    for seq, terms in listings:
        for term in ["all", *terms]:
            adds.setdefault(term, {})[seq] = posting(seq)
    return adds


def found(db: FakeDb, **query: Any) -> list[int]:
    """The seqs a search finds, newest first."""
    page, _more = asyncio.run(search_store.search(db, SearchQuery(**query)))  # type: ignore[arg-type]
    return [p.seq for p in page]


def fresh_search_state(monkeypatch: Any) -> Iterator[None]:
    """For an autouse fixture: the module's writer state starts empty, folds are done in this process,
    searches read the store each time (cache off), and a fold writes every term's head (nothing carried)
    unless a test sets CARRY_BELOW itself."""
    monkeypatch.setattr(search_store, "CARRY_BELOW", 1)

    def reset() -> None:
        search_store.fold_in(None)
        search_store._live = None
        search_store._segments.clear()
        search_store._written.clear()

    reset()
    saved = search_store._cache
    search_store._cache = search_store.ReadCache(0)
    yield
    search_store._cache = saved
    reset()
