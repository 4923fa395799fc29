"""`python -m training rebuild-talent-index`: a bulk job, run by an operator, never on a timer.

A talent's index of sessions (`talent_sessions`, `_id` = talent id) is written before the session write
that enrols it, so it cannot miss a session for any enrolment made since it exists. This job writes it
for what was stored before (a deployment that predates it, or a restored backup). It reads every session
once (on FerretDB, a scan): run it while the API is stopped or quiet. Running it again changes nothing.
"""

from __future__ import annotations

import asyncio

from servicekit.mongo import Database, run_bulk_job

from training.sessions import store as session_store
from training.settings import TrainingSettings


async def rebuild(db: Database) -> str:
    entries = 0
    async for session in db[session_store.COLLECTION].find({}, {"talent_ids": 1}).sort("_id", 1):
        for talent_id in session.get("talent_ids") or []:
            await session_store.add_talent(db, talent_id, session["_id"])
            entries += 1
    return f"{entries} talent-session entries written"


def main() -> None:
    print(asyncio.run(run_bulk_job(TrainingSettings(), rebuild)))
