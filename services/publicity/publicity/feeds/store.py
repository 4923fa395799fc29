"""The public feed document: the newest published (or withdrawn) releases, kept as ONE document
(`public_feed/news`), so the feeds and the public list are one `_id` read however many releases exist
(FerretDB scans for any other filter).

It is derived from the releases and kept current the way trading keeps its search read model: a change
that alters what the public sees first upserts a marker (`feed_pending/{_id: release id}`), then writes
the release, then folds the release into the feed document and drops the marker. A crash in between
leaves the marker, and the scheduler's next run (every second, and at start-up) folds it in, so the
feed repairs itself; folding is idempotent (the release replaces its own entry). Only the API process
writes it, under the process's lock on the document.

Reading it is the feeds' cost (10,000 published items: the 100 newest with their bodies, about 22 ms to
read and decode on FerretDB), so each process keeps the last one it read, with what it rendered from
it, and checks at each GET that it is still current by reading a small revision marker by `_id`
(`public_feed/news-revision`, a new random token at every fold, written after the feed document and
before the pending markers are dropped: a crash in between leaves a marker, and the repair folds again
and writes a new token). A feed written without a marker (before this existed) is read every time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from servicekit.mongo import PROCESS_LOCKS, Database, Document

from publicity.common import as_utc

FEED = "public_feed"
FEED_ID = "news"
PENDING = "feed_pending"
REVISION_ID = "news-revision"
SIZE = 100


@dataclass
class Snapshot:
    """The feed document as one process last read it, and what was rendered from it (by format)."""

    revision: str | None
    items: list[Document]
    rendered: dict[str, bytes] = field(default_factory=dict)


_LAST: list[Snapshot] = []  # this process's latest snapshot (at most one)


async def snapshot(db: Database) -> Snapshot:
    """The feed as it is now: the cached one when the revision marker still names it, else read afresh.
    The marker is read first, so a snapshot is never older than the revision it is filed under."""
    marker = await db[FEED].find_one({"_id": REVISION_ID})
    revision = str(marker["revision"]) if marker and marker.get("revision") else None
    if revision is not None and _LAST and _LAST[0].revision == revision:
        return _LAST[0]
    current = Snapshot(revision, await items(db))
    if revision is not None:
        _LAST[:] = [current]
    return current


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
        await db[FEED].update_one({"_id": REVISION_ID}, {"$set": {"revision": uuid.uuid4().hex}}, upsert=True)
    for release in releases:
        await db[PENDING].delete_one({"_id": release["_id"]})


def _when(entry: dict[str, Any]) -> tuple[datetime, str]:
    return as_utc(entry["public_updated_at"]), str(entry["_id"])


async def pending(db: Database) -> list[str]:
    """Releases whose change may not be in the feed yet (the collection holds only pending work)."""
    return [d["_id"] async for d in db[PENDING].find({})]
