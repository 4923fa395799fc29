"""Signing an accepted offer: it becomes a licence, or for an assignment a transfer application.

Order of writes, each single-document: (1) the deal (licence via the per-patent register, where the
exclusivity rules are checked; or transfer application) with its events, (2) the negotiation marked
signed with a reference to the deal. The deal's id is derived from the negotiation's, so a retry
after a crash between (1) and (2) finds the deal and only does (2); a retry after (2) gets the deal.
"""

from __future__ import annotations

from datetime import date

from servicekit.auth import Principal
from servicekit.http import stale
from servicekit.mongo import Document
from servicekit.service import ServiceContext

from trading.licences import service as licences
from trading.licences import store as licence_store
from trading.listings.domain import DealType
from trading.negotiations import service, store
from trading.negotiations.domain import NegotiationStatus
from trading.transfers import service as transfers
from trading.transfers import store as transfer_store


def _deal_ref(kind: str, deal_id: str) -> Document:
    return {"kind": kind, "id": deal_id, "href": f"/v1/{kind}s/{deal_id}"}


async def sign(ctx: ServiceContext, negotiation_id: str, caller: Principal, expected_version: int,
               signed_on: date | None) -> tuple[Document, bool]:
    """Returns the deal reference and whether it was made now (False: an earlier signing's)."""
    organisation_id = str(caller.organisation_id)
    async with ctx.locks.hold(store.COLLECTION, negotiation_id):
        doc, side = await service.for_action(ctx, negotiation_id, organisation_id)
        if doc["status"] == NegotiationStatus.SIGNED.value and doc.get("deal"):
            return dict(doc["deal"]), False
        if doc["version"] != expected_version:
            raise stale(doc["version"])
        service.apply_sign_rule(doc, side)
        day = service.signed_on_or_today(signed_on)
        terms = await service.agent_still_eligible(ctx.db, service.accepted_terms(doc))
        if terms.deal_type is DealType.ASSIGNMENT:
            transfer = await transfers.apply_from(ctx, doc, terms, day)
            deal = _deal_ref("transfer", transfer["_id"])
        else:
            licence = await licences.grant_from(ctx, doc, terms, day)
            deal = _deal_ref("licence", licence["_id"])
        await service.mark_signed(ctx, negotiation_id, expected_version, deal)
    if deal["kind"] == "licence":
        # A licence leaves the patent with its owner, who may license it further: back in the search
        # unless another negotiation is open. (An assignment closes the listing once registered.)
        await service.reopen_listing_if_idle(ctx, doc["listing_id"])
    return deal, True


async def deal_document(ctx: ServiceContext, deal: Document) -> Document | None:
    if deal["kind"] == "licence":
        return await licence_store.get(ctx.db, deal["id"])
    return await transfer_store.get(ctx.db, deal["id"])
