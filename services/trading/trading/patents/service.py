"""Use cases for patents: claims, the officer's decisions, term extensions, and the ownership checks
every deal package asks before it publishes, signs, pledges or registers (free of HTTP)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from servicekit.auth import Principal, Role
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database, Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from trading.licences import register
from trading.organisations.projection import COLLECTION as ORGANISATIONS
from trading.organisations.projection import may_list_patents
from trading.patents import store
from trading.patents.domain import (
    ClaimStatus,
    PatentRuleError,
    check_extension,
    claim_refusal,
    computed_expiry,
)
from trading.patents.events import (
    PatentClaimRejected,
    PatentOwnershipClaimed,
    PatentOwnershipTransferred,
    PatentOwnershipVerified,
    PatentTermExtended,
)
from trading.patents.identifiers import PatentKind, display_application_number, kind_of_application
from trading.patents.models import ClaimCreate, ClaimDecision, TermExtensionCreate

SOURCE = "/ipo/trading"
STAFF = frozenset({Role.OFFICER, Role.COORDINATOR, Role.ADMIN})


def _now() -> datetime:
    return datetime.now(UTC)


def _event(application_number: str, payload: Any) -> CloudEvent:
    return CloudEvent.new(SOURCE, application_number, payload)


def refused(error: PatentRuleError, status: int = 409, **extensions: Any) -> ProblemError:
    errors = [{"pointer": f"#/{error.field}", "detail": str(error)}] if error.field else []
    return ProblemError(status, "Conflict" if status == 409 else "Invalid request", str(error), kind=error.kind,
                        errors=errors, **extensions)


def not_found(application_number: str) -> ProblemError:
    return ProblemError(404, "Not found", f"No patent {display_application_number(application_number)} that you "
                                          "can see.", kind="not-found")


def pending_claims(doc: Document | None) -> dict[str, Document]:
    return {org: c for org, c in ((doc or {}).get("claims") or {}).items() if c["status"] == ClaimStatus.PENDING}


def extension_days(doc: Document | None) -> int:
    return sum(int(e["days"]) for e in (doc or {}).get("term_extensions") or [])


def latest_expiry(application_number: str, doc: Document | None, filed_on: date) -> date:
    return computed_expiry(kind_of_application(application_number), filed_on, extension_days(doc))


# --- claims and decisions ----------------------------------------------------------------------------


async def claim(ctx: ServiceContext, application_number: str, data: ClaimCreate,
                caller: Principal) -> tuple[Document, bool]:
    """The caller's organisation claims the patent; returns the patent and whether the claim is new."""
    organisation_id = str(caller.organisation_id)
    if not may_list_patents(await ctx.db[ORGANISATIONS].find_one({"_id": organisation_id})):
        raise ProblemError(403, "Forbidden", f"{organisation_id} is not an active organisation known to trading.",
                           kind="organisation-not-active")
    now = _now()
    async with store.changing(ctx.db, application_number) as unit:
        doc = unit.document
        refusal = claim_refusal(organisation_id, (doc or {}).get("owner_organisation_id"))
        if refusal is not None:
            raise refused(refusal)
        earlier = ((doc or {}).get("claims") or {}).get(organisation_id)
        entry = {"owners": list(data.owners), "evidence_kind": data.evidence.kind.value,
                 "evidence_reference": data.evidence.reference, "evidence_dated": data.evidence.dated.isoformat(),
                 "status": ClaimStatus.PENDING.value, "reason": None, "claimed_at": now, "decided_at": None}
        same = earlier is not None and earlier["status"] == ClaimStatus.PENDING and all(
            earlier[k] == entry[k] for k in ("owners", "evidence_kind", "evidence_reference", "evidence_dated"))
        if same:
            created = False
        else:
            others = sorted(set(pending_claims(doc)) - {organisation_id})
            event = _event(application_number, PatentOwnershipClaimed(
                application_number=application_number, organisation_id=organisation_id,
                contested=bool(others), occurred_at=now))
            await store.write(unit, {f"claims.{organisation_id}": entry}, [event])
            created = True
    await _requeue(ctx.db, application_number)
    found = await store.get(ctx.db, application_number)
    assert found is not None
    return found, created


async def decide(ctx: ServiceContext, application_number: str, organisation_id: str, verify: bool,
                 data: ClaimDecision, caller: Principal) -> Document:
    """An officer verifies or rejects one claim. Verifying makes the claimant the owner and rejects the
    other pending claims (the register has one owner, whose claim the evidence bore out)."""
    if not verify and not data.reason:
        raise ProblemError(422, "Invalid request", "reason: a rejection says why", kind="validation",
                           errors=[{"pointer": "#/reason", "detail": "a rejection says why"}])
    now = _now()
    async with store.changing(ctx.db, application_number) as unit:
        doc = unit.document
        claim_doc = ((doc or {}).get("claims") or {}).get(organisation_id)
        if doc is None or claim_doc is None:
            raise ProblemError(404, "Not found", f"No claim by {organisation_id} on this patent.", kind="not-found")
        if claim_doc["status"] != ClaimStatus.PENDING:
            raise refused(PatentRuleError("claim-decided", f"this claim was already {claim_doc['status']}"))
        changes: dict[str, Any] = {}
        events: list[CloudEvent] = []
        if verify:
            if doc.get("owner_organisation_id") not in (None, organisation_id):
                raise refused(PatentRuleError("registered-to-another-owner",
                                              "the patent is already verified to another owner"))
            changes.update({f"claims.{organisation_id}.status": ClaimStatus.VERIFIED.value,
                            f"claims.{organisation_id}.reason": data.reason,
                            f"claims.{organisation_id}.decided_at": now,
                            "owner_organisation_id": organisation_id})
            events.append(_event(application_number, PatentOwnershipVerified(
                application_number=application_number, owner_organisation_id=organisation_id,
                verified_by=caller.subject, occurred_at=now)))
            for other in sorted(set(pending_claims(doc)) - {organisation_id}):
                reason = "the patent was verified to another claimant"
                changes.update({f"claims.{other}.status": ClaimStatus.REJECTED.value,
                                f"claims.{other}.reason": reason, f"claims.{other}.decided_at": now})
                events.append(_event(application_number, PatentClaimRejected(
                    application_number=application_number, organisation_id=other, reason=reason, occurred_at=now)))
        else:
            reason = str(data.reason)
            changes.update({f"claims.{organisation_id}.status": ClaimStatus.REJECTED.value,
                            f"claims.{organisation_id}.reason": reason, f"claims.{organisation_id}.decided_at": now})
            events.append(_event(application_number, PatentClaimRejected(
                application_number=application_number, organisation_id=organisation_id, reason=reason,
                occurred_at=now)))
        await store.write(unit, changes, events)
    await _requeue(ctx.db, application_number)
    after = await store.get(ctx.db, application_number)
    assert after is not None
    return after


async def _requeue(db: Database, application_number: str) -> None:
    """The officer's queue entry follows the patent's pending claims (a follow-up write by `_id`; a
    crash before it is repaired by the next claim or decision on the patent)."""
    pending = pending_claims(await store.get(db, application_number))
    if not pending:
        await store.queue_drop(db, application_number)
        return
    await store.queue_put(db, application_number, {"claimants": sorted(pending), "contested": len(pending) > 1,
                                                   "since": min(c["claimed_at"] for c in pending.values())})


async def extend_term(ctx: ServiceContext, application_number: str, data: TermExtensionCreate,
                      caller: Principal) -> Document:
    kind = kind_of_application(application_number)
    try:
        check_extension(kind, data.legal_basis, data.days)
    except PatentRuleError as exc:
        raise refused(exc, 422 if exc.field else 409) from None
    today = _now().date()
    async with store.changing(ctx.db, application_number) as unit:
        doc = unit.document
        extensions = list((doc or {}).get("term_extensions") or [])
        if any(e["reference"] == data.reference for e in extensions):
            return doc or {}
        entry = {"days": data.days, "legal_basis": data.legal_basis.value, "reference": data.reference,
                 "recorded_on": today.isoformat(), "recorded_by": caller.subject}
        total = extension_days(doc) + data.days
        event = _event(application_number, PatentTermExtended(
            application_number=application_number, days=data.days, legal_basis=data.legal_basis.value,
            reference=data.reference, extension_days_total=total, recorded_on=today, occurred_at=_now()))
        await store.write(unit, {"term_extensions": [*extensions, entry]}, [event])
    found = await store.get(ctx.db, application_number)
    assert found is not None
    return found


# --- the checks other packages ask -------------------------------------------------------------------


async def owner_of(db: Database, application_number: str) -> str | None:
    doc = await store.get(db, application_number)
    return None if doc is None else doc.get("owner_organisation_id")


async def require_owner(db: Database, application_number: str, organisation_id: str, doing: str) -> None:
    """409 unless the patent is verified to `organisation_id` (the owner side of a listing or deal)."""
    owner = await owner_of(db, application_number)
    number = display_application_number(application_number)
    if owner is None:
        raise ProblemError(409, "Conflict", f"Patent {number}'s ownership is not verified yet, so it cannot be "
                                            f"{doing}: claim it (POST /v1/patents/{number}/claims) and wait for an "
                                            "IPO officer to verify the claim.", kind="ownership-not-verified")
    if owner != organisation_id:
        raise ProblemError(409, "Conflict", f"Patent {number} is registered to another owner, so {organisation_id} "
                                            f"cannot have it {doing}.", kind="registered-to-another-owner")


async def is_owner(db: Database, application_number: str, organisation_id: str | None) -> bool:
    return organisation_id is not None and await owner_of(db, application_number) == organisation_id


async def transfer_ownership(db: Database, application_number: str, transfer_id: str, assignee: str) -> None:
    """A registered assignment: the assignee becomes the verified owner (idempotent)."""
    async with store.changing(db, application_number) as unit:
        doc = unit.document
        previous = (doc or {}).get("owner_organisation_id")
        if previous == assignee:
            return
        event = _event(application_number, PatentOwnershipTransferred(
            application_number=application_number, transfer_id=transfer_id, previous_owner_organisation_id=previous,
            owner_organisation_id=assignee, occurred_at=_now()))
        await store.write(unit, {"owner_organisation_id": assignee}, [event])


async def declare_open_licence(db: Database, application_number: str, entry: Document | None,
                               listing_id: str) -> None:
    """Set (entry) or clear (None, only if it is this listing's) the patent's open-licence declaration."""
    async with store.changing(db, application_number) as unit:
        current = (unit.document or {}).get("open_licence")
        if entry is None and (current is None or current.get("listing_id") != listing_id):
            return
        await store.write(unit, {"open_licence": entry})


# --- reading ------------------------------------------------------------------------------------------


def is_staff(caller: Principal | None) -> bool:
    return caller is not None and bool(caller.roles & STAFF)


async def view(ctx: ServiceContext, application_number: str, caller: Principal) -> dict[str, Any]:
    doc = await store.get(ctx.db, application_number)
    if doc is None:
        raise not_found(application_number)
    org = caller.organisation_id
    staff = is_staff(caller)
    owner = doc.get("owner_organisation_id")
    claims = []
    for claimant, c in sorted((doc.get("claims") or {}).items()):
        if staff or claimant == org:
            contested = c["status"] == ClaimStatus.PENDING and len(pending_claims(doc)) > 1
            claims.append({"organisation_id": claimant, **{k: c[k] for k in (
                "owners", "evidence_kind", "evidence_reference", "evidence_dated", "status", "reason", "claimed_at",
                "decided_at")}, "contested": contested})
    deals = None
    if staff or (org is not None and org == owner):
        entries = await register.get(ctx.db, application_number) or {}
        deals = {"licences": sorted((entries.get("licences") or {}).keys()),
                 "transfers": sorted((entries.get("transfers") or {}).keys()),
                 "pledges": sorted((entries.get("pledges") or {}).keys())}
    return {"application_number": application_number, "patent_kind": PatentKind(doc["patent_kind"]),
            "verified": owner is not None, "owner_organisation_id": owner,
            "open_listing_id": doc.get("open_listing_id"), "open_licence": doc.get("open_licence"),
            "term_extensions": doc.get("term_extensions") or [], "claims": claims, "deals": deals,
            "version": doc["version"]}


async def queue(ctx: ServiceContext) -> list[Document]:
    """Patents with claims awaiting an officer, contested ones first, oldest first."""
    items = await store.queue(ctx.db)
    return sorted(items, key=lambda d: (not d.get("contested"), str(d.get("since") or ""), d["_id"]))
