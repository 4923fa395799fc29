"""`python -m registry rebuild-lookups`: a bulk job, run by an operator, never on a timer.

The lookup documents the API reads by `_id` instead of filtering a collection, the login -> talent
lookups (`talent_accounts`) and the open-evaluation markers (`open_evaluations`), are written before the
change they index, so they cannot be missing for anything the API bound or opened since they exist.
This job writes them for what was stored before (a deployment that predates them, or a restored
backup). It reads every talent and the open evaluations once (on FerretDB, scans): run it while the API
is stopped or quiet. Running it again changes nothing.
"""

from __future__ import annotations

import asyncio

from servicekit.mongo import Database, run_bulk_job

from registry.certification import store as certification_store
from registry.certification.domain import OPEN_STATUSES
from registry.settings import RegistrySettings
from registry.talents import store as talent_store


async def rebuild(db: Database) -> str:
    accounts = 0
    async for talent in db[talent_store.COLLECTION].find({"account_subject": {"$type": "string"}},
                                                         {"account_subject": 1}):
        await talent_store.link_account(db, talent["account_subject"], talent["_id"])
        accounts += 1
    markers = 0
    statuses = sorted(s.value for s in OPEN_STATUSES)
    # Oldest first, so where old data holds two open evaluations for one triple the marker names the
    # later one (either keeps a third from opening).
    async for evaluation in db[certification_store.EVALUATIONS].find(
            {"status": {"$in": statuses}}, {"talent_id": 1, "level": 1, "category": 1}).sort("_id", 1):
        await certification_store.mark_open(db, evaluation["talent_id"], evaluation["level"],
                                            evaluation["category"], evaluation["_id"])
        markers += 1
    return f"{accounts} account lookups, {markers} open-evaluation markers written"


def main() -> None:
    print(asyncio.run(run_bulk_job(RegistrySettings(), rebuild)))
