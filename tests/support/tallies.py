"""Checks that a service's tallies (servicekit.tallies) equal what its documents contribute now."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import AsyncMongoClient
from servicekit import tallies
from servicekit.aggregates import Aggregate
from servicekit.mongo import Document


async def tallies_against_documents(mongo_url: str, database: str,
                                    aggregates: Sequence[Aggregate]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the tallies as stored, the tallies recomputed from every document of `aggregates`), both as
    {tally id: {dotted path: amount}} without zero amounts, for an equality assertion."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        db = client[database]
        expected: tallies.Contribution = {}
        for aggregate in aggregates:
            documents = [d async for d in db[aggregate.collection].find({})]
            for tally_id, amounts in tallies.contributions(documents, aggregate).items():
                target = expected.setdefault(tally_id, {})
                for path, value in amounts.items():
                    target[path] = target.get(path, 0) + value
        stored = {doc.pop("_id"): _flat(doc) async for doc in db[tallies.TALLIES].find({})}
        stored = {k: v for k, v in stored.items() if v}
        return stored, tallies.normalised(expected)
    finally:
        await client.close()


def _flat(node: dict[str, Any], prefix: str = "") -> dict[str, int]:
    flat: dict[str, int] = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, path + "."))
        elif int(value) != 0:
            flat[path] = int(value)
    return flat
