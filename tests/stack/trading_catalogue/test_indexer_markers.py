"""The indexer's marker clean-up against the real FerretDB (search_store._drop_markers): after a batch, a
listing's marker goes only when the batch filed the version it names (or a later one), whether this
process wrote the marker or found it in the store; a marker of a newer change stays for the next batch."""

from __future__ import annotations

import uuid

import pytest
from devstack.layout import Profile
from devstack.stack import Stack
from pymongo import AsyncMongoClient
from servicekit.mongo import Document
from trading.listings import search_store

pytestmark = pytest.mark.stack


async def test_a_batch_drops_only_the_markers_it_filed(infra: Stack, test_profile: Profile) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(test_profile.mongo_url, socketTimeoutMS=20_000)
    db = client[f"trading_markers_{uuid.uuid4().hex[:8]}"]
    markers = db[search_store.PENDING]
    try:
        # Marked by this process, at versions 3 and 2; a marker an earlier process left at version 5.
        await search_store.mark_pending(db, "lst-here-newer", 3)
        await search_store.mark_pending(db, "lst-here-filed", 2)
        await markers.insert_one({"_id": "lst-earlier", "version": 5})
        # Filed: version 2 of the first (its version 3 came after the batch read it), version 2 of the
        # second, version 4 of the third (the store's marker says 5), and a draft nobody marked.
        await search_store._drop_markers(
            db, [("lst-here-newer", 2), ("lst-here-filed", 2), ("lst-earlier", 4), ("lst-draft", 1)],
            stored_markers={"lst-earlier"})
        assert {d["_id"] async for d in markers.find({})} == {"lst-here-newer", "lst-earlier"}
        # The next batch files the newer versions: both go.
        await search_store._drop_markers(db, [("lst-here-newer", 3), ("lst-earlier", 5)],
                                         stored_markers={"lst-earlier"})
        assert [d async for d in markers.find({})] == []
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_marking_a_listing_whose_marker_an_earlier_process_left_moves_it_to_the_new_version(
        infra: Stack, test_profile: Profile) -> None:
    """mark_pending inserts when this process knows of no marker; finding one there (left by an earlier
    process at an older version) it must still bring it to the version now written, or the indexer would
    drop it after filing the old version and miss the change."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(test_profile.mongo_url, socketTimeoutMS=20_000)
    db = client[f"trading_markers_{uuid.uuid4().hex[:8]}"]
    markers = db[search_store.PENDING]
    try:
        await markers.insert_one({"_id": "lst-left-behind", "version": 4})
        await search_store.mark_pending(db, "lst-left-behind", 7)
        await search_store.mark_pending(db, "lst-new", 1)
        stored = {d["_id"]: d["version"] async for d in markers.find({})}
        assert stored == {"lst-left-behind": 7, "lst-new": 1}
    finally:
        await client.drop_database(db.name)
        await client.close()
