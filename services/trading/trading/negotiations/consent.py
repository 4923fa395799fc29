"""Each party's consent to publicity about the deal (issue 12): the IPO's publicity service names the
parties and the amount of a deal in its news only when both parties agreed. Each party states its own
consent on the negotiation (`POST /v1/negotiations/{id}/publicity-consent`); the deal events carry
whether both agreed (`publicity_consent`), as stated when the event is written. Without it, news about
the deal is anonymous."""

from __future__ import annotations

from datetime import UTC, datetime

from servicekit.auth import Principal
from servicekit.mongo import Database, Document
from servicekit.service import ServiceContext

from trading.negotiations import service, store
from trading.negotiations.domain import Side
from trading.negotiations.problems import not_found


def both_consented(negotiation: Document | None) -> bool:
    stated = (negotiation or {}).get("publicity_consent") or {}
    return stated.get(Side.OWNER.value) is True and stated.get(Side.COUNTERPARTY.value) is True


async def of_negotiation(db: Database, negotiation_id: str) -> bool:
    return both_consented(await store.get(db, negotiation_id))


async def state(ctx: ServiceContext, negotiation_id: str, caller: Principal, expected_version: int,
                consent: bool) -> Document:
    """The caller's side states (or withdraws) its consent; the other side's is untouched."""
    async with service.changing(ctx, negotiation_id) as unit:
        doc = unit.document
        side = service.side_in(doc, caller.organisation_id)
        if doc is None or side is None:
            raise not_found("negotiation", negotiation_id)
        if not unit.check_version(expected_version):
            await unit.write({"$set": {f"publicity_consent.{side.value}": consent,
                                       "updated_at": datetime.now(UTC)}})
    found = await store.get(ctx.db, negotiation_id)
    if found is None:
        raise not_found("negotiation", negotiation_id)
    return found
