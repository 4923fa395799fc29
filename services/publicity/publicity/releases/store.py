"""Store access for releases (press releases and news items): the one place that knows their documents.

- `releases`: one document per release: the working edition (`state`, `content`, who submitted, the
  embargo, a force-publish), the public snapshot (`public`, absent until first published: nothing of a
  release is visible before), the version history and the outbox.
- `release_schedule`: one marker per scheduled release (`_id` = release id, `due_at`), written in the
  same unit of work as the scheduling and dropped once published or unscheduled. The scheduler reads
  only this collection, which holds nothing but pending work, so finding what is due never scans the
  releases, and the database stays the truth about what is due (a restart loses nothing).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "releases"
SCHEDULE = "release_schedule"

INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
           IndexSpec(COLLECTION, (("state", 1), ("_id", 1))),
           IndexSpec(COLLECTION, (("kind", 1), ("_id", 1))))

AGGREGATE = Aggregate(COLLECTION)


async def insert(db: Database, document: Document) -> None:
    await aggregates.create(db, AGGREGATE, document)


async def get(db: Database, release_id: str) -> Document | None:
    return await aggregates.read(db, AGGREGATE, release_id)


async def page(db: Database, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    """Officers' list (a filtered scan on FerretDB: see tests/stack/store_scans.py)."""
    query: dict[str, Any] = dict(filters)
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = db[COLLECTION].find(query, AGGREGATE.hidden()).sort("_id", 1).limit(limit)
    return [d async for d in cursor]


async def mark_scheduled(db: Database, release_id: str, due_at: datetime, edition: int) -> None:
    await db[SCHEDULE].update_one({"_id": release_id}, {"$set": {"due_at": due_at, "edition": edition}},
                                  upsert=True)


async def drop_schedule(db: Database, release_id: str) -> None:
    await db[SCHEDULE].delete_one({"_id": release_id})


async def scheduled(db: Database) -> list[Document]:
    """Every pending schedule marker (the collection holds only pending work)."""
    return [d async for d in db[SCHEDULE].find({})]
