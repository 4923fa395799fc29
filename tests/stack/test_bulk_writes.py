"""bulk_write_in_batches against the real FerretDB: a write of hundreds of updates (a listing with a long
abstract touches about 200 read-model documents) must finish, where one `update` command of 100 or more
statements waits forever inside FerretDB 1.24 (see servicekit.mongo.WRITE_BATCH)."""

from __future__ import annotations

import uuid

import pytest
from devstack.layout import Profile
from devstack.stack import Stack
from pymongo import AsyncMongoClient, UpdateOne
from servicekit.mongo import WRITE_BATCH, Document, bulk_write_in_batches

pytestmark = pytest.mark.stack


async def test_hundreds_of_upserts_in_batches_all_land(infra: Stack, test_profile: Profile) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(test_profile.mongo_url, socketTimeoutMS=20_000)
    try:
        collection = client["kit_bulk_writes"][f"docs_{uuid.uuid4().hex[:8]}"]
        count = 7 * WRITE_BATCH + 3
        await collection.insert_many([{"_id": f"d{i}", "n": 0} for i in range(count // 2)])
        # Half update existing documents, half insert new ones: both kinds of statement in each batch.
        await bulk_write_in_batches(collection, [UpdateOne({"_id": f"d{i}"}, {"$inc": {"n": 1}}, upsert=True)
                                                 for i in range(count)])
        docs = [d async for d in collection.find({})]
        assert len(docs) == count and all(d["n"] == 1 for d in docs)
    finally:
        await client.close()
