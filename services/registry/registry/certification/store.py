"""Store access for evaluations and the certification rules (one document, `_id` = "current")."""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import PROCESS_LOCKS, Collection, Database, Document, IndexSpec

EVALUATIONS = "evaluations"
# "One open evaluation per talent, level and category": a marker per triple, `_id` =
# "<talent>:<level>:<category>", holding the evaluation that was opened last (see `open_for`).
OPEN_EVALUATIONS = "open_evaluations"
RULES = "certification_rules"
CURRENT_RULES = "current"

INDEXES = (
    IndexSpec(EVALUATIONS, (("creation_key", 1),), unique=True),
)

# Every change goes through the kit's unit of work (servicekit.aggregates) with these descriptions.
EVERY_EVALUATION = "evaluations"
BY_TALENT = "evaluations_by_talent"
AGGREGATE = Aggregate(EVALUATIONS, listed=lambda doc: {
    # The list page's lookups (servicekit.lookups): every evaluation, and by talent.
    EVERY_EVALUATION: [aggregates.EVERYTHING], BY_TALENT: [doc.get("talent_id")]})
RULES_AGGREGATE = Aggregate(RULES)
HIDDEN = AGGREGATE.hidden()


async def insert(db: Database, document: Document) -> None:
    """Raises aggregates.DuplicateCreation (with what an earlier request with this key created)."""
    await aggregates.create(db, AGGREGATE, document)


async def get(collection: Collection, evaluation_id: str) -> Document | None:
    return await collection.find_one({"_id": evaluation_id}, HIDDEN)


def _triple(talent_id: str, level: str, category: str) -> str:
    return f"{talent_id}:{level}:{category}"


async def open_for(db: Database, talent_id: str, level: str, category: str,
                   statuses: list[str]) -> Document | None:
    """The talent's evaluation for this level and category that is still open, if any (`_id` and
    `creation_key`): the marker's evaluation, read by `_id`, when its status is one of `statuses`. The
    marker is set before the evaluation is stored and cleared after it closes, so a marker left by a
    write that did not happen (or a close whose clearing did not) names an evaluation that is absent or
    closed: no open one."""
    marker = await db[OPEN_EVALUATIONS].find_one({"_id": _triple(talent_id, level, category)})
    if marker is None:
        return None
    found = await db[EVALUATIONS].find_one({"_id": marker["evaluation_id"]},
                                           {"_id": 1, "status": 1, "creation_key": 1})
    return ({"_id": found["_id"], "creation_key": found.get("creation_key")}
            if found is not None and found.get("status") in statuses else None)


async def mark_open(db: Database, talent_id: str, level: str, category: str, evaluation_id: str) -> None:
    """Before the evaluation's insert (the caller holds the triple's `aggregates.exclusive`)."""
    async with PROCESS_LOCKS.hold(OPEN_EVALUATIONS, _triple(talent_id, level, category)):
        await db[OPEN_EVALUATIONS].replace_one({"_id": _triple(talent_id, level, category)},
                                               {"evaluation_id": evaluation_id}, upsert=True)


async def clear_open(db: Database, talent_id: str, level: str, category: str, evaluation_id: str) -> None:
    """After the evaluation closed, or when its insert failed: remove the marker if it still names it
    (the caller holds the triple's `aggregates.exclusive`, so no newer opening is in between)."""
    triple = _triple(talent_id, level, category)
    async with PROCESS_LOCKS.hold(OPEN_EVALUATIONS, triple):
        marker = await db[OPEN_EVALUATIONS].find_one({"_id": triple})
        if marker is not None and marker["evaluation_id"] == evaluation_id:
            await db[OPEN_EVALUATIONS].delete_one({"_id": triple})


async def page(collection: Collection, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    return await aggregates.filtered_page(collection.database, AGGREGATE, filters, after=after, limit=limit,
                                          by={"talent_id": BY_TALENT}, everything=EVERY_EVALUATION)


async def rules(collection: Collection) -> Document | None:
    return await collection.find_one({"_id": CURRENT_RULES})


async def seed_rules(collection: Collection, body: dict[str, Any]) -> None:
    """Store the default edition as version 1 unless some edition is there already."""
    with contextlib.suppress(DuplicateKeyError):  # another request seeded it first: fine
        await collection.insert_one({"_id": CURRENT_RULES, **body, "version": 1, "updated_at": None})
