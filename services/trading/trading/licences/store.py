"""Store access for licences and their royalty reports: the one place that knows their documents."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit import aggregates, lookups, tallies
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document, IndexSpec

from trading.fairs import tallies as deal_tallies
from trading.negotiations.parties import deal_lists

COLLECTION = "licences"
ROYALTY_REPORTS = "royalty_reports"

INDEXES = (
    IndexSpec(ROYALTY_REPORTS, (("licence_id", 1), ("period_start", 1))),
)



def _counted(doc: Document) -> dict[str, dict[str, int]]:
    """What a licence adds to the deal tallies (trading/fairs/tallies.py)."""
    licence_type = tallies.key(doc["licence_type"])
    counted: dict[str, dict[str, int]] = {deal_tallies.LICENCES: {f"by_type.{licence_type}": 1}}
    if doc.get("recordal_status") == "pending" and doc.get("recordal_deadline"):
        deadline = tallies.key(str(doc["recordal_deadline"])[:10])
        counted[deal_tallies.LICENCES][f"recordal_pending_by_deadline.{deadline}"] = 1
    if doc.get("fair_id"):
        fee = int(doc.get("upfront_fee_fen") or 0)
        counted[deal_tallies.fair(doc["fair_id"])] = {
            "licences.count": 1, "licences.amount_fen": fee, f"licence_types.{licence_type}": 1,
            f"licences_by_type.{licence_type}.count": 1, f"licences_by_type.{licence_type}.amount_fen": fee}
    return counted


# Every change goes through the kit's unit of work (servicekit.aggregates) with this description.
PENDING_RECORDAL = "licences_pending_recordal"


def _lists(doc: Document) -> dict[str, list[str | None]]:
    """The list page's lookups (servicekit.lookups): every licence, by patent and by party
    (`deal_lists`), and those whose recordal is still pending (the overdue queue reads these)."""
    lists = deal_lists(COLLECTION)(doc)
    if doc.get("recordal_status") == "pending":
        lists[PENDING_RECORDAL] = [aggregates.EVERYTHING]
    return lists


AGGREGATE = Aggregate(COLLECTION, internal_fields=("action_keys", "royalty_periods"), tallied=_counted,
                      listed=_lists)
# What never leaves this module in a read (the outbox, idempotency and replay bookkeeping).
INTERNAL_FIELDS = tuple(AGGREGATE.hidden())


async def insert(db: Database, document: Document, events: Sequence[CloudEvent] = ()) -> bool:
    """Insert it with its events; False when it already exists (a retried signing)."""
    try:
        await aggregates.create(db, AGGREGATE, document, events, find_earlier=False)
    except aggregates.DuplicateCreation:
        return False
    return True


async def get(db: Database, licence_id: str, *, with_keys: bool = False) -> Document | None:
    return await aggregates.read(db, AGGREGATE, licence_id, keep=("action_keys",) if with_keys else ())


async def page(db: Database, organisation_id: str | None, overdue_on: date | None, application_number: str | None,
               after: str | None, limit: int) -> list[Document]:
    """Licences a party is on (all of them for staff: organisation_id None), optionally only those whose
    recordal is overdue on `overdue_on`."""
    query: dict[str, Any] = {}
    if organisation_id is not None:
        query["parties"] = organisation_id
    if application_number is not None:
        query["application_number"] = application_number

    def wanted(doc: Document) -> bool:
        overdue = overdue_on is None or (doc.get("recordal_status") == "pending"
                                         and str(doc.get("recordal_deadline")) < overdue_on.isoformat())
        return overdue and lookups.matches(doc, query)

    # The most selective lookup the filters allow (servicekit.lookups); the rest is checked on what is read.
    if application_number is not None:
        name, key = f"{COLLECTION}_by_patent", application_number
    elif overdue_on is not None:
        name, key = PENDING_RECORDAL, aggregates.EVERYTHING
    elif organisation_id is not None:
        name, key = f"{COLLECTION}_by_party", organisation_id
    else:
        name, key = COLLECTION, aggregates.EVERYTHING
    return await aggregates.listed(db, AGGREGATE, name, key, limit=limit, after=after, where=wanted)


async def count_overdue(db: Database, today: date) -> int:
    """Recordals still pending after their deadline (from the licences tally: one `_id` read)."""
    pending = tallies.amounts(await tallies.read(db, deal_tallies.LICENCES), "recordal_pending_by_deadline")
    return sum(n for deadline, n in pending.items() if deadline < today.isoformat())


async def count_by_type(db: Database) -> dict[str, int]:
    return tallies.amounts(await tallies.read(db, deal_tallies.LICENCES), "by_type")


async def insert_report(db: Database, document: Document) -> tuple[Document, bool]:
    """Insert a royalty report; returns the stored report (the earlier one for that licence and period,
    if there is one) and whether it was inserted now.

    The licence lists its reported periods (`royalty_periods`, internal) so its reports are read by `_id`
    rather than found by a filter. The period goes on the licence *before* the report is inserted: a
    crash in between leaves a period without a report, which the read skips, never a report the
    licence does not list."""
    async with aggregates.change(db, AGGREGATE, document["licence_id"], keep=("royalty_periods",)) as unit:
        if unit.document is not None and document["period"] not in (unit.document.get("royalty_periods") or {}):
            await unit.write({"$set": {f"royalty_periods.{document['period']}": document["period_start"]}},
                             bump_version=False)
    try:
        await db[ROYALTY_REPORTS].insert_one(document)
        created = True
    except DuplicateKeyError:
        created = False
    stored = await db[ROYALTY_REPORTS].find_one({"_id": document["_id"]})
    assert stored is not None  # reports are never deleted
    return stored, created


async def reports(db: Database, licence_id: str) -> list[Document]:
    """A licence's royalty reports in period order, each read by `_id` from the periods its licence lists."""
    licence = await aggregates.read(db, AGGREGATE, licence_id, keep=("royalty_periods",))
    periods = sorted((licence or {}).get("royalty_periods", {}).items(), key=lambda item: (item[1], item[0]))
    found = await asyncio.gather(*(db[ROYALTY_REPORTS].find_one({"_id": f"{licence_id}:{period}"})
                                   for period, _start in periods))
    return [report for report in found if report is not None]
