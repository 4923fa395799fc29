"""apply_once against the real FerretDB, in both of its write strategies: the conditional update (what
MongoDB indexes) and the read-by-_id decision (what FerretDB indexes). Both must give the same answers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from devstack.layout import Profile
from devstack.stack import Stack
from pymongo import AsyncMongoClient
from servicekit.mongo import STORE_TRAITS, Collection, Document, apply_once, learn_store_traits

pytestmark = pytest.mark.stack


@pytest.fixture(params=[False, True], ids=["conditional-update", "read-by-id"])
async def collection(request: pytest.FixtureRequest, infra: Stack, test_profile: Profile) -> AsyncIterator[Collection]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(test_profile.mongo_url, tz_aware=True)
    learned = (await learn_store_traits(client["kit_apply_once"])).only_id_filters_use_indexes
    STORE_TRAITS.only_id_filters_use_indexes = request.param
    try:
        yield client["kit_apply_once"][f"docs_{uuid.uuid4().hex[:8]}"]
    finally:
        STORE_TRAITS.only_id_filters_use_indexes = learned
        await client.close()


async def test_store_traits_recognise_ferretdb(infra: Stack, test_profile: Profile) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(test_profile.mongo_url)
    try:
        assert (await learn_store_traits(client["kit_apply_once"])).only_id_filters_use_indexes
    finally:
        await client.close()


async def test_an_event_is_applied_once(collection: Collection) -> None:
    inc = {"$inc": {"credits": 5}}
    assert await apply_once(collection, "t-1", "e-1", inc) is True
    assert await apply_once(collection, "t-1", "e-1", inc) is False
    assert await apply_once(collection, "t-1", "e-2", inc) is True
    doc = await collection.find_one({"_id": "t-1"})
    assert doc is not None
    assert doc["credits"] == 10
    assert doc["applied_events"] == ["e-1", "e-2"]


async def test_an_older_snapshot_is_ignored(collection: Collection) -> None:
    def snapshot(name: str, version: int) -> dict[str, dict[str, object]]:
        return {"$set": {"name": name, "version": version}}

    assert await apply_once(collection, "o-1", "e-2", snapshot("second", 2), newer_than=("version", 2)) is True
    assert await apply_once(collection, "o-1", "e-1", snapshot("first", 1), newer_than=("version", 1)) is False
    assert await apply_once(collection, "o-1", "e-3", snapshot("third", 3), newer_than=("version", 3)) is True
    doc = await collection.find_one({"_id": "o-1"})
    assert doc is not None
    assert (doc["name"], doc["version"]) == ("third", 3)


async def test_without_upsert_a_missing_document_is_left_alone(collection: Collection) -> None:
    assert await apply_once(collection, "nobody", "e-1", {"$set": {"x": 1}}, upsert=False) is False
    assert await collection.find_one({"_id": "nobody"}) is None


@pytest.mark.parametrize("likely_new", [False, True], ids=["read-first", "insert-first"])
async def test_a_creating_event_inserts_and_a_redelivery_or_an_overtaken_one_changes_nothing(
        collection: Collection, likely_new: bool) -> None:
    """`likely_new` (a "registered" event) inserts at once on FerretDB; the answers are those of the
    read-first decision: a new document is made with the event recorded, a redelivery is a duplicate, and
    a creating event that arrives after a later snapshot (the insert collides) leaves that snapshot."""
    registered = {"$set": {"name": "first", "version": 1}, "$setOnInsert": {"since": "2026"}}
    assert await apply_once(collection, "o-1", "e-1", registered, newer_than=("version", 1),
                            likely_new=likely_new) is True
    assert await collection.find_one({"_id": "o-1"}) == {
        "_id": "o-1", "name": "first", "version": 1, "since": "2026", "applied_events": ["e-1"]}
    assert await apply_once(collection, "o-1", "e-1", registered, newer_than=("version", 1),
                            likely_new=likely_new) is False

    updated = {"$set": {"name": "second", "version": 2}}
    assert await apply_once(collection, "o-2", "e-3", updated, newer_than=("version", 2)) is True
    assert await apply_once(collection, "o-2", "e-2", registered, newer_than=("version", 1),
                            likely_new=likely_new) is False
    doc = await collection.find_one({"_id": "o-2"})
    assert doc is not None and (doc["name"], doc["version"], doc["applied_events"]) == ("second", 2, ["e-3"])
