"""The kit's database makes each collection object once (servicekit.mongo.database)."""

from __future__ import annotations

from pymongo import AsyncMongoClient
from servicekit.mongo import Document, database


async def test_a_collection_is_made_once_per_name() -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient("mongodb://127.0.0.1:1/", connect=False)
    try:
        db = database(client, "made_once")
        assert db["listings"] is db["listings"] is db.listings
        assert db["listings"] is not db["patents"]
        assert db["listings"].full_name == "made_once.listings" and db.name == "made_once"
    finally:
        await client.close()
