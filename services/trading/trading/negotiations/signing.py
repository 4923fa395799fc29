"""Signing an accepted offer: it becomes a licence, or for an assignment a transfer application.

Order of writes, each single-document: (0) a *signing marker* on the negotiation (the day signed and
when), (1) the deal (licence via the per-patent register, where the exclusivity rules are checked; or
transfer application) with its events, (2) the negotiation marked signed with a reference to the
deal, which clears the marker. The deal's id is derived from the negotiation's, so a retry after a
crash between (1) and (2) finds the deal and only does (2); a retry after (2) gets the deal.

A crash after (0) with no retry would leave the licence's scope reserved in the patent's register
(refusing other licences in its name) with no licence to show for it. So the deals sweep resumes every
signing whose marker is older than RESUME_AFTER: both parties had agreed and one of them asked to
sign, so it completes the signing as that request would have (or, if the scope was taken meanwhile,
drops the marker: the request would have been refused with 409).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from servicekit import aggregates
from servicekit.auth import Principal
from servicekit.http import stale
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from trading.licences import service as licences
from trading.licences import store as licence_store
from trading.listings.domain import DealType
from trading.negotiations import service, store
from trading.negotiations.domain import NegotiationStatus
from trading.negotiations.models import DealTerms
from trading.patents import service as patents
from trading.transfers import service as transfers
from trading.transfers import store as transfer_store

log = logging.getLogger(__name__)

# How old a signing marker must be before the sweep resumes it: far longer than a signing request takes,
# so a request still in flight (in this or another replica) is never raced.
RESUME_AFTER = timedelta(seconds=60)


def _deal_ref(kind: str, deal_id: str) -> Document:
    return {"kind": kind, "id": deal_id, "href": f"/v1/{kind}s/{deal_id}"}


async def sign(ctx: ServiceContext, negotiation_id: str, caller: Principal, expected_version: int,
               signed_on: date | None) -> tuple[Document, bool]:
    """Returns the deal reference and whether it was made now (False: an earlier signing's)."""
    organisation_id = str(caller.organisation_id)
    async with service.changing(ctx, negotiation_id) as unit:
        doc, side = await service.for_action(ctx, unit, organisation_id)
        if doc["status"] == NegotiationStatus.SIGNED.value and doc.get("deal"):
            return dict(doc["deal"]), False
        if doc["version"] != expected_version:
            raise stale(doc["version"])
        service.apply_sign_rule(doc, side)
        await service.owner_unchanged(ctx.db, doc)
        # Nothing is signed on a patent whose ownership is not verified to the owner side's organisation.
        await patents.require_owner(ctx.db, doc["application_number"], doc["owner_organisation_id"], "signed for")
        day = service.signed_on_or_today(signed_on)
        terms = await service.agent_still_eligible(ctx.db, service.accepted_terms(doc))
        await store.mark_signing(unit, {"signed_on": day.isoformat(), "since": _now(), "by": organisation_id})
        try:
            deal = await _complete(ctx, unit, terms, day)
        except ProblemError:
            # Answered (a conflict, or busy: retry): nothing for the sweep to complete. Any other failure
            # (store unreachable, a crash) keeps the marker, and the sweep finishes what was begun.
            await store.mark_signing(unit, None)
            raise
    await _after_signing(ctx, doc, deal)
    return deal, True


async def _complete(ctx: ServiceContext, unit: aggregates.Change, terms: DealTerms, day: date) -> Document:
    """Steps (1) and (2), inside the unit of work on the negotiation."""
    doc = unit.document
    assert doc is not None
    if terms.deal_type is DealType.ASSIGNMENT:
        transfer = await transfers.apply_from(ctx, doc, terms, day)
        deal = _deal_ref("transfer", transfer["_id"])
    else:
        licence = await licences.grant_from(ctx, doc, terms, day)
        deal = _deal_ref("licence", licence["_id"])
    await service.mark_signed(unit, deal)
    return deal


async def _after_signing(ctx: ServiceContext, doc: Document, deal: Document) -> None:
    if deal["kind"] == "licence":
        # A licence leaves the patent with its owner, who may license it further: back in the search
        # unless another negotiation is open. (An assignment closes the listing once registered.)
        await service.reopen_listing_if_idle(ctx, doc["listing_id"])


async def resume_interrupted(ctx: ServiceContext) -> int:
    """Complete the signings a crash interrupted (see the module's docstring); returns how many."""
    resumed = 0
    for negotiation_id, marker in (await store.signing_markers(ctx.db)).items():
        if _now() - marker["since"] < RESUME_AFTER:  # the kit's client reads datetimes tz-aware
            continue  # possibly still in flight in another replica
        async with service.changing(ctx, negotiation_id) as unit:
            doc = unit.document
            if doc is None or doc["status"] != NegotiationStatus.ACCEPTED.value:
                if doc is not None:
                    await store.mark_signing(unit, None)
                continue
            try:
                deal = await _complete(ctx, unit, service.accepted_terms(doc), date.fromisoformat(marker["signed_on"]))
            except ProblemError as exc:
                if exc.status >= 500:
                    continue  # the register was busy: the next sweep tries again
                log.warning("interrupted signing refused; marker dropped",
                            extra={"negotiation_id": negotiation_id, "reason": exc.detail})
                await store.mark_signing(unit, None)
                continue
        await _after_signing(ctx, doc, deal)
        log.info("resumed an interrupted signing", extra={"negotiation_id": negotiation_id, "deal": deal["id"]})
        resumed += 1
    return resumed


def _now() -> datetime:
    return datetime.now(UTC)


async def deal_document(ctx: ServiceContext, deal: Document) -> Document | None:
    if deal["kind"] == "licence":
        return await licence_store.get(ctx.db, deal["id"])
    return await transfer_store.get(ctx.db, deal["id"])
