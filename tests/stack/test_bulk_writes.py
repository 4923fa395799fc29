"""bulk_write_in_batches against the real FerretDB: a write of hundreds of updates (a listing with a long
abstract touches about 200 read-model documents) must finish, where one `update` command of 100 or more
statements waits forever inside FerretDB 1.24 (see servicekit.mongo.WRITE_BATCH)."""

from __future__ import annotations

import uuid

import pytest
from devstack.layout import Profile
from devstack.stack import Stack
from pymongo import AsyncMongoClient, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError
from servicekit.mongo import WRITE_BATCH, Document, bulk_write_in_batches

pytestmark = pytest.mark.stack


@pytest.mark.parametrize(("per_command", "at_once"), [(WRITE_BATCH, 1), (8, 4)])
async def test_hundreds_of_upserts_in_batches_all_land(infra: Stack, test_profile: Profile, per_command: int,
                                                       at_once: int) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(test_profile.mongo_url, socketTimeoutMS=20_000)
    try:
        collection = client["kit_bulk_writes"][f"docs_{uuid.uuid4().hex[:8]}"]
        count = 7 * WRITE_BATCH + 3
        await collection.insert_many([{"_id": f"d{i}", "n": 0} for i in range(count // 2)])
        # Half update existing documents, half insert new ones: both kinds of statement in each batch.
        await bulk_write_in_batches(collection, [UpdateOne({"_id": f"d{i}"}, {"$inc": {"n": 1}}, upsert=True)
                                                 for i in range(count)],
                                    per_command=per_command, at_once=at_once)
        docs = [d async for d in collection.find({})]
        assert len(docs) == count and all(d["n"] == 1 for d in docs)
    finally:
        await client.close()


async def test_side_by_side_commands_report_a_failure_after_the_rest_landed(infra: Stack,
                                                                           test_profile: Profile) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(test_profile.mongo_url, socketTimeoutMS=20_000)
    try:
        collection = client["kit_bulk_writes"][f"docs_{uuid.uuid4().hex[:8]}"]
        await collection.insert_one({"_id": "taken"})
        inserts = [InsertOne({"_id": f"d{i}"}) for i in range(40)] + [InsertOne({"_id": "taken"})]
        with pytest.raises(BulkWriteError):
            await bulk_write_in_batches(collection, inserts, per_command=8, at_once=4)
        # The other commands were not abandoned: every other insert is there.
        assert await collection.count_documents({}) == 41
    finally:
        await client.close()
