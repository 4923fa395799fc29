"""The public feed document: the newest published (or withdrawn) releases, kept as ONE document
(`public_feed/news`), so the feeds and the public list are one `_id` read however many releases exist
(FerretDB scans for any other filter).

It is derived from the releases and kept current the way trading keeps its search read model: a change
that alters what the public sees first upserts a marker (`feed_pending/{_id: release id}`), then writes
the release, then folds the release into the feed document and drops the marker. A crash in between
leaves the marker, and the scheduler's next run (every second, and at start-up) folds it in, so the
feed repairs itself; folding is idempotent (the release replaces its own entry). Only the API process
writes it, under the process's lock on the document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from servicekit.mongo import PROCESS_LOCKS, Database, Document

from publicity.common import as_utc

FEED = "public_feed"
FEED_ID = "news"
PENDING = "feed_pending"
SIZE = 100


async def mark(db: Database, release_id: str) -> None:
    await db[PENDING].update_one({"_id": release_id}, {"$set": {"release_id": release_id}}, upsert=True)


async def items(db: Database) -> list[Document]:
    doc = await db[FEED].find_one({"_id": FEED_ID})
    return list(doc["items"]) if doc else []


def _entry(release: Document) -> dict[str, Any]:
    return {"_id": release["_id"], "kind": release["kind"], "public": release["public"],
            "public_updated_at": release["public_updated_at"]}


async def fold(db: Database, releases: list[Document]) -> None:
    """Put these releases' public state into the feed (newest change first), then drop their markers."""
    async with PROCESS_LOCKS.hold(FEED, FEED_ID):
        current = {e["_id"]: e for e in await items(db)}
        for release in releases:
            if release.get("public"):
                current[release["_id"]] = _entry(release)
            else:
                current.pop(release["_id"], None)
        newest: list[dict[str, Any]] = sorted(current.values(), key=_when, reverse=True)[:SIZE]
        await db[FEED].update_one({"_id": FEED_ID}, {"$set": {"items": newest}}, upsert=True)
    for release in releases:
        await db[PENDING].delete_one({"_id": release["_id"]})


def _when(entry: dict[str, Any]) -> tuple[datetime, str]:
    return as_utc(entry["public_updated_at"]), str(entry["_id"])


async def pending(db: Database) -> list[str]:
    """Releases whose change may not be in the feed yet (the collection holds only pending work)."""
    return [d["_id"] async for d in db[PENDING].find({})]
