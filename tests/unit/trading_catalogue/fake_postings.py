"""An in-memory stand-in for the search read model's one collection, as search_store uses it (reads
by `_id`, inserts, `$set`/`$inc` updates, bulk writes): for unit tests of its bookkeeping, not of FerretDB."""

from __future__ import annotations

from typing import Any, cast

from pymongo import DeleteOne, ReplaceOne, UpdateOne


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
