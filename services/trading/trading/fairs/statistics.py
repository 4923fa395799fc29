"""A fair's live statistics, computed from the deals that carry its id whenever they are read.

Counting at read time (the deals matching `fair_id`, summed as they are read) keeps the figures
right by construction: there is no second copy that a crash between two writes could leave
behind. Fairs have hundreds to a few thousand deals, so this stays cheap.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from servicekit.mongo import Database, Document

from trading.licences import store as licence_store
from trading.negotiations import store as negotiation_store
from trading.pledges import store as pledge_store
from trading.transfers import store as transfer_store


async def _group(db: Database, collection: str, match: dict[str, Any], key: str | None,
                 amount_field: str) -> dict[str, tuple[int, int]]:
    """Count and amount per `key` value. Summed here rather than with `$group`/`$sum: "$field"`:
    FerretDB 1.24 answers 0 for the sum of a field (measured; `$sum: 1` counts correctly)."""
    projection = {amount_field: 1, **({key: 1} if key else {})}
    groups: dict[str, tuple[int, int]] = {}
    async for doc in db[collection].find(match, projection):
        group = str(doc.get(key)) if key else "None"
        count, amount = groups.get(group, (0, 0))
        groups[group] = (count + 1, amount + int(doc.get(amount_field) or 0))
    return groups


async def statistics(db: Database, fair: Document) -> dict[str, Any]:
    fair_id = fair["_id"]
    negotiations = await _group(db, negotiation_store.COLLECTION, {"fair_id": fair_id}, None, "offer_count")
    accepted = await db[negotiation_store.COLLECTION].count_documents(
        {"fair_id": fair_id, "status": {"$in": ["accepted", "signed"]}})
    licences = await _group(db, licence_store.COLLECTION, {"fair_id": fair_id}, "licence_type", "upfront_fee_fen")
    transfers = await _group(db, transfer_store.COLLECTION, {"fair_id": fair_id, "status": "registered"}, None,
                             "price_fen")
    pledges = await _group(db, pledge_store.COLLECTION,
                           {"fair_id": fair_id, "status": {"$in": ["registered", "released"]}}, None, "amount_fen")
    negotiation_count, offer_count = negotiations.get("None", (0, 0))
    transfer_figures = transfers.get("None", (0, 0))
    pledge_figures = pledges.get("None", (0, 0))
    licence_count = sum(n for n, _ in licences.values())
    licence_amount = sum(a for _, a in licences.values())
    return {
        "fair_id": fair_id, "status": fair["status"], "exhibitors": len(fair.get("exhibitors") or {}),
        "listings_shown": len(fair.get("shown_listings") or {}), "negotiations": negotiation_count,
        "offers": offer_count, "offers_accepted": accepted,
        "licences": {"count": licence_count, "amount_fen": licence_amount},
        "licences_by_type": {t: {"count": n, "amount_fen": a} for t, (n, a) in sorted(licences.items())},
        "transfers": {"count": transfer_figures[0], "amount_fen": transfer_figures[1]},
        "pledges": {"count": pledge_figures[0], "amount_fen": pledge_figures[1]},
        "total_amount_fen": licence_amount + transfer_figures[1] + pledge_figures[1],
        "as_of": datetime.now(UTC),
    }
