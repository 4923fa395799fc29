"""Store access for credit ledgers: one document per talent (`_id` = talent id), written only by the
registry's worker, so the ledger has a single writing process (as FerretDB needs)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from servicekit.mongo import Collection, Document, apply_once

COLLECTION = "credit_ledgers"


async def credit(collection: Collection, talent_id: str, marker: str, entry: dict[str, Any]) -> bool:
    """Add `entry` unless `marker` was already applied to this ledger; True when credited now."""
    update = {"$push": {"entries": {**entry, "credited_at": datetime.now(UTC)}},
              "$set": {"updated_at": datetime.now(UTC)}}
    return await apply_once(collection, talent_id, marker, update)


async def get(collection: Collection, talent_id: str) -> Document | None:
    return await collection.find_one({"_id": talent_id}, {"applied_events": 0})
