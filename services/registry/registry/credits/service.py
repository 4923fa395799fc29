"""Reading the credit ledger (the worker writes it; see handlers.py)."""

from __future__ import annotations

from typing import Any

from servicekit.service import ServiceContext

from registry.credits import store
from registry.credits.domain import hours_by_category, total_hours
from registry.credits.models import LedgerRead


async def entries(ctx: ServiceContext, talent_id: str) -> list[dict[str, Any]]:
    doc = await store.get(ctx.db[store.COLLECTION], talent_id)
    return list((doc or {}).get("entries", []))


async def ledger(ctx: ServiceContext, talent_id: str) -> LedgerRead:
    found = await entries(ctx, talent_id)
    found.sort(key=lambda e: e["completed_at"])
    return LedgerRead.model_validate({"talent_id": talent_id, "total_hours": total_hours(found),
                                      "hours_by_category": hours_by_category(found), "entries": found})
