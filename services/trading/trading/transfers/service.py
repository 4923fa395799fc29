"""Use cases for transfers: applying from a signed assignment, registering it (which moves ownership)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from servicekit import aggregates
from servicekit.auth import Principal
from servicekit.events.envelope import CloudEvent
from servicekit.http import stale
from servicekit.mongo import Document
from servicekit.service import ServiceContext

from trading.fairs.metrics import deal_metrics
from trading.licences import register
from trading.listings import store as listings
from trading.negotiations import consent
from trading.negotiations.idempotency import remember, replayed
from trading.negotiations.models import DealTerms
from trading.negotiations.parties import is_staff
from trading.negotiations.problems import busy, invalid, not_found, rule_refused
from trading.patents import service as patents
from trading.patents import store as patent_store
from trading.transfers import store
from trading.transfers.domain import TransferRuleError, TransferStatus, check_registrable
from trading.transfers.events import TransferRegistered
from trading.transfers.models import TransferRegistration

SOURCE = "/ipo/trading"


def transfer_id_for(negotiation_id: str) -> str:
    return f"TRF-{negotiation_id.removeprefix('NEG-')}"


def _now() -> datetime:
    return datetime.now(UTC)


def pledged(pledge_id: str) -> Exception:
    return rule_refused(f"The patent is pledged (pledge {pledge_id}); it cannot be transferred until the pledge "
                        "is released.", kind="patent-pledged", blocking_pledge_id=pledge_id,
                        blocking_pledge=f"/v1/pledges/{pledge_id}")


async def apply_from(ctx: ServiceContext, negotiation: Document, terms: DealTerms, signed_on: date) -> Document:
    """A signed assignment becomes a transfer application; refused while the patent is pledged."""
    await patents.require_owner(ctx.db, negotiation["application_number"], negotiation["owner_organisation_id"],
                                "assigned by it")
    blocked = await register.check_not_pledged(ctx.db, negotiation["application_number"])
    if blocked is not None:
        raise pledged(blocked.pledge_id)
    transfer_id = transfer_id_for(negotiation["_id"])
    now = _now()
    agent = negotiation.get("agent_organisation_id")
    doc: Document = {
        "_id": transfer_id, "negotiation_id": negotiation["_id"], "listing_id": negotiation["listing_id"],
        "application_number": negotiation["application_number"], "patent_title": negotiation["patent_title"],
        "assignor_organisation_id": negotiation["owner_organisation_id"],
        "assignee_organisation_id": negotiation["counterparty_organisation_id"],
        "parties": sorted({negotiation["owner_organisation_id"], negotiation["counterparty_organisation_id"]}
                          | ({agent} if agent else set())),
        "price_fen": terms.upfront_fee_fen, "agent_organisation_id": terms.agent_organisation_id,
        "agent_talent_id": terms.agent_talent_id, "signed_on": signed_on.isoformat(),
        "status": TransferStatus.APPLIED.value, "registered_on": None, "reference": None,
        "fair_id": negotiation.get("fair_id"), "version": 1, "created_at": now, "updated_at": now,
    }
    await store.insert(ctx.db, doc)
    found = await store.get(ctx.db, transfer_id)
    assert found is not None
    return found


def may_see(doc: Document, caller: Principal) -> bool:
    return is_staff(caller) or (caller.organisation_id is not None and caller.organisation_id in doc["parties"])


async def find(ctx: ServiceContext, transfer_id: str, caller: Principal) -> Document:
    """For its parties, IPO staff, and the patent's verified owner (who sees every deal recorded on it)."""
    doc = await store.get(ctx.db, transfer_id)
    if doc is None or not (may_see(doc, caller)
                           or await patents.is_owner(ctx.db, doc["application_number"], caller.organisation_id)):
        raise not_found("transfer", transfer_id)
    return doc


async def register_transfer(ctx: ServiceContext, transfer_id: str, data: TransferRegistration, caller: Principal,
                            expected_version: int, digest: str | None) -> Document:
    """An officer registers the assignment: it takes effect, and the patent's listings follow the new owner.

    Order: the per-patent register first (where a pledge in force refuses it), then the transfer with
    its event, then the listings. A retry after a crash in between finds the register entry already
    there and finishes; the listing moves are no-ops once done, so a retry of a registered transfer
    re-applies them safely.
    """
    body = data.model_dump(mode="json")
    async with aggregates.change(ctx.db, store.AGGREGATE, transfer_id, keep=("action_keys",)) as unit:
        doc = unit.document
        if doc is None:
            raise not_found("transfer", transfer_id)
        if not replayed(doc, digest, body):
            if doc["version"] != expected_version:
                raise stale(doc["version"])
            on = data.registered_on or _now().date()
            if on > _now().date() or on < date.fromisoformat(doc["signed_on"]):
                raise invalid("#/registered_on", "must lie between the signature and today")
            try:
                check_registrable(TransferStatus(doc["status"]), None)
            except TransferRuleError as exc:
                raise rule_refused(str(exc), kind="transfer-rule") from exc
            try:
                blocked = await register.register_transfer(ctx.db, doc["application_number"], transfer_id,
                                                           doc["assignee_organisation_id"])
            except register.RegisterBusy as exc:
                raise busy() from exc
            if blocked is not None:
                raise pledged(blocked.pledge_id)
            event = CloudEvent.new(SOURCE, transfer_id, TransferRegistered(
                transfer_id=transfer_id, negotiation_id=doc["negotiation_id"], listing_id=doc["listing_id"],
                application_number=doc["application_number"], patent_title=doc["patent_title"],
                assignor_organisation_id=doc["assignor_organisation_id"],
                assignee_organisation_id=doc["assignee_organisation_id"], price_fen=doc["price_fen"],
                registered_on=on, fair_id=doc.get("fair_id"), occurred_at=_now(),
                publicity_consent=await consent.of_negotiation(ctx.db, doc["negotiation_id"])))
            changes = {"status": TransferStatus.REGISTERED.value, "registered_on": on.isoformat(),
                       "reference": data.reference, "updated_at": _now(), **remember(digest, body)}
            await unit.write({"$set": changes}, [event])
            deal_metrics().transfers_registered.inc()
    # The verified owner moves with the registration (idempotent, so a retry finishes it), then the
    # listings: the assignment's own and the patent's open one, both by `_id`.
    await patents.transfer_ownership(ctx.db, doc["application_number"], transfer_id, doc["assignee_organisation_id"])
    patent = await patent_store.get(ctx.db, doc["application_number"])
    open_listing = (patent or {}).get("open_listing_id")
    await listings.move_to_owner(ctx.db, [doc["listing_id"], *([open_listing] if open_listing else [])],
                                 doc["assignee_organisation_id"])
    await listings.close_listing(ctx.db, doc["listing_id"])
    return await find(ctx, transfer_id, caller)
