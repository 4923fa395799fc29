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

from servicekit import aggregates, lookups, tallies
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document, IndexSpec

COLLECTION = "releases"
SCHEDULE = "release_schedule"

INDEXES = (IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),)  # lists come from lookups

EVERY_RELEASE = "releases"
BY_STATE = "releases_by_state"
BY_KIND = "releases_by_kind"
# Releases by kind and state, and force-published ones not yet approved, for the gauges (servicekit.tallies).
TALLY = "publicity-releases"


# Force-published and not yet approved by a second officer: the officers' dashboard.
FORCED_UNAPPROVED = "releases_forced_unapproved"


def _forced_unapproved(doc: Document) -> bool:
    forced = doc.get("forced") or {}
    return bool(forced.get("by")) and not forced.get("approved_by")


def _counted(doc: Document) -> dict[str, dict[str, int]]:
    return {TALLY: {f"by.{tallies.key(doc['kind'])}.{tallies.key(doc['state'])}": 1,
                    "forced_unapproved": 1 if _forced_unapproved(doc) else 0}}


def _lists(doc: Document) -> dict[str, list[str | None]]:
    """The officers' lists (servicekit.lookups): every release, by state, by kind, and the dashboard."""
    lists: dict[str, list[str | None]] = {EVERY_RELEASE: [aggregates.EVERYTHING], BY_STATE: [doc.get("state")],
                                          BY_KIND: [doc.get("kind")]}
    if _forced_unapproved(doc):
        lists[FORCED_UNAPPROVED] = [aggregates.EVERYTHING]
    return lists


AGGREGATE = Aggregate(COLLECTION, tallied=_counted, listed=_lists)



async def get(db: Database, release_id: str) -> Document | None:
    return await aggregates.read(db, AGGREGATE, release_id)


async def page(db: Database, filters: dict[str, Any], after: str | None, limit: int, *,
               forced_unapproved: bool = False) -> list[Document]:
    """Officers' list, from the lookups: the dashboard's (`forced_unapproved`), else by state, else by
    kind, else every release."""
    if forced_unapproved:
        return await aggregates.listed(db, AGGREGATE, FORCED_UNAPPROVED, aggregates.EVERYTHING, limit=limit,
                                       after=after, where=lambda doc: lookups.matches(doc, filters))
    return await aggregates.filtered_page(db, AGGREGATE, filters, after=after, limit=limit,
                                          by={"state": BY_STATE, "kind": BY_KIND}, everything=EVERY_RELEASE)


async def counts(db: Database) -> tuple[dict[tuple[str, str], int], int]:
    """Releases by (kind, state), and force-published ones awaiting approval (the tally: one `_id` read)."""
    tally = await tallies.read(db, TALLY)
    by_kind = tally.get("by") or {}
    found = {(str(kind), str(state)): int(n) for kind, states in by_kind.items() for state, n in states.items()}
    return found, tallies.amount(tally, "forced_unapproved")


async def mark_scheduled(db: Database, release_id: str, due_at: datetime, edition: int) -> None:
    await db[SCHEDULE].update_one({"_id": release_id}, {"$set": {"due_at": due_at, "edition": edition}},
                                  upsert=True)


async def drop_schedule(db: Database, release_id: str) -> None:
    await db[SCHEDULE].delete_one({"_id": release_id})


async def scheduled(db: Database) -> list[Document]:
    """Every pending schedule marker (the collection holds only pending work)."""
    return [d async for d in db[SCHEDULE].find({})]
