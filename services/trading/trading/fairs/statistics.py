"""A fair's live statistics: the fair's own figures (exhibitors, listings shown) from its document, its
deals' figures from the fair's tally, which every deal carrying the fair's id keeps up to date in the
same change that moves it (trading/fairs/tallies.py, servicekit.tallies). Two `_id` reads, however
many deals the fair has.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from servicekit import tallies
from servicekit.mongo import Database, Document

from trading.fairs import tallies as deal_tallies


async def statistics(db: Database, fair: Document) -> dict[str, Any]:
    fair_id = fair["_id"]
    deals = deal_tallies.figures(await tallies.read(db, deal_tallies.fair(fair_id)))
    total = deals["licences"]["amount_fen"] + deals["transfers"]["amount_fen"] + deals["pledges"]["amount_fen"]
    return {
        "fair_id": fair_id, "status": fair["status"], "exhibitors": len(fair.get("exhibitors") or {}),
        "listings_shown": len(fair.get("shown_listings") or {}), **deals,
        "total_amount_fen": total, "as_of": datetime.now(UTC),
    }
