"""Use cases for licences: granting one from an accepted offer (the exclusivity rules enforced through
the per-patent register), recordal, royalty reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal, Role
from servicekit.events.envelope import CloudEvent
from servicekit.http import fingerprint, stale
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from trading.fairs.metrics import deal_metrics
from trading.licences import register, store
from trading.licences.domain import (
    Conflict,
    LicenceType,
    RecordalStatus,
    effective_recordal_status,
    next_recordal_status,
    recordal_deadline,
)
from trading.licences.events import LicenceRecorded, LicenceSigned
from trading.licences.models import OpenLicenceNotice, RecordalChange, RoyaltyReportCreate
from trading.licences.royalties import Period, PeriodError, check_reportable, royalty_due_fen
from trading.licences.scope import Scope
from trading.listings import store as listings
from trading.listings.domain import PUBLIC_STATUSES, DealType
from trading.negotiations.consent import both_consented
from trading.negotiations.idempotency import remember, replayed
from trading.negotiations.models import DealTerms
from trading.negotiations.parties import is_staff
from trading.negotiations.problems import busy, invalid, not_found, rule_refused
from trading.organisations.projection import COLLECTION as ORGANISATIONS
from trading.organisations.projection import may_list_patents
from trading.patents import service as patents
from trading.patents import store as patent_store
from trading.patents.identifiers import display_application_number

SOURCE = "/ipo/trading"


def licence_id_for(negotiation_id: str) -> str:
    """Derived from the negotiation, so a retried signing finds the licence (and its register entry)."""
    return f"LIC-{negotiation_id.removeprefix('NEG-')}"


def _now() -> datetime:
    return datetime.now(UTC)


async def grant_from(ctx: ServiceContext, negotiation: Document, terms: DealTerms, signed_on: date) -> Document:
    """Create the licence an accepted offer describes, unless it conflicts with one the patent carries."""
    licence_type = LicenceType(terms.deal_type.value)
    assert terms.term_start is not None and terms.term_end is not None  # checked when offered
    scope = Scope.of(terms.fields_of_use, terms.territories, terms.term_start, terms.term_end)
    licence_id = licence_id_for(negotiation["_id"])
    application_number = negotiation["application_number"]
    # Only the verified owner licenses (its named agent signs for it on the owner's side).
    await patents.require_owner(ctx.db, application_number, negotiation["owner_organisation_id"], "licensed by it")
    open_licence = (await patent_store.get(ctx.db, application_number) or {}).get("open_licence") is not None
    try:
        conflict = await register.reserve_licence(ctx.db, application_number, licence_id, licence_type,
                                                  scope, patent_has_open_licence=open_licence)
    except register.RegisterBusy as exc:
        raise busy() from exc
    if conflict is not None:
        raise _conflict_problem(licence_type, conflict)
    doc = _licence_document(licence_id, negotiation, licence_type, terms, signed_on)
    event = _signed_event(doc, terms, both_consented(negotiation))
    if await store.insert(ctx.db, doc, [event]):
        deal_metrics().licences_signed.labels(licence_type.value).inc()
    found = await store.get(ctx.db, licence_id)
    assert found is not None
    return found


async def take_open_licence(ctx: ServiceContext, data: OpenLicenceNotice, caller: Principal) -> tuple[Document, bool]:
    """Anyone (an active organisation other than the owner) takes the patent's open licence by notice:
    an ordinary licence at the published terms, every field of use, all of China, with no negotiation.
    Recordal and royalty reports then work as for any licence. The same notice again (same licensee,
    patent and first day) answers with the licence it made."""
    number = data.application_number
    licensee = str(caller.organisation_id)
    patent = await patent_store.get(ctx.db, number)
    declared = (patent or {}).get("open_licence")
    if patent is None or declared is None:
        raise rule_refused(f"Patent {display_application_number(number)} carries no open licence.",
                           kind="no-open-licence")
    owner = patent.get("owner_organisation_id")
    if owner is None:
        raise rule_refused("The patent's ownership is not verified, so its open licence cannot be taken.",
                           kind="ownership-not-verified")
    if licensee == owner:
        raise invalid("#/application_number", "the owner does not take a licence of its own patent")
    if not may_list_patents(await ctx.db[ORGANISATIONS].find_one({"_id": licensee})):
        raise ProblemError(403, "Forbidden", f"{licensee} is not an active organisation known to trading.",
                           kind="organisation-not-active")
    listing = await listings.listing_terms(ctx.db, declared["listing_id"])
    if listing is None or listing.status not in PUBLIC_STATUSES:
        raise rule_refused("The listing that declared the open licence is no longer published.",
                           kind="no-open-licence")
    today = _now().date()
    start = data.term_start or today
    end = data.term_end or listing.expires_on
    if start < today:
        raise invalid("#/term_start", "a licence taken by notice starts today or later")
    if end < start:
        raise invalid("#/term_end", "the term ends before it starts")
    if end > listing.expires_on:
        raise invalid("#/term_end", f"the patent expires on {listing.expires_on}; a licence cannot outlast it")
    notice_id = f"NOTICE-{number}-{licensee}-{start.isoformat()}"
    licence_id = f"LIC-OPEN-{number}-{licensee}-{start.strftime('%Y%m%d')}"
    existing = await store.get(ctx.db, licence_id)
    if existing is not None:
        return existing, False
    scope = Scope.of(["*"], ["CN"], start, end)
    try:
        conflict = await register.reserve_licence(ctx.db, number, licence_id, LicenceType.ORDINARY, scope,
                                                  patent_has_open_licence=True)
    except register.RegisterBusy as exc:
        raise busy() from exc
    if conflict is not None:
        raise _conflict_problem(LicenceType.ORDINARY, conflict)
    terms = DealTerms(deal_type=DealType.ORDINARY_LICENCE, fields_of_use=["*"], territories=["CN"], term_start=start,
                      term_end=end, upfront_fee_fen=int(declared["upfront_fee_fen"]),
                      royalty_rate_percent=Decimal(declared["royalty_rate_percent"]))
    negotiation_like = {"_id": notice_id, "listing_id": listing.listing_id, "application_number": number,
                        "patent_title": listing.title, "owner_organisation_id": owner, "agent_organisation_id": None,
                        "counterparty_organisation_id": licensee, "fair_id": None}
    doc = _licence_document(licence_id, negotiation_like, LicenceType.ORDINARY, terms, today)
    doc["taken_by_notice"] = True
    created = await store.insert(ctx.db, doc, [_signed_event(doc, terms, None)])
    if created:
        deal_metrics().licences_signed.labels(LicenceType.ORDINARY.value).inc()
    found = await store.get(ctx.db, licence_id)
    assert found is not None
    return found, created


def _conflict_problem(licence_type: LicenceType, conflict: Conflict) -> ProblemError:
    return rule_refused(f"This {licence_type.value.replace('_', ' ')} conflicts with {conflict.licence_id}: "
                        f"{conflict.reason}.", kind="licence-conflict",
                        conflicting_licence_id=conflict.licence_id,
                        conflicting_licence=(None if conflict.licence_id == "open-licence"
                                             else f"/v1/licences/{conflict.licence_id}"))


def _licence_document(licence_id: str, negotiation: Document, licence_type: LicenceType, terms: DealTerms,
                      signed_on: date) -> Document:
    assert terms.term_start is not None and terms.term_end is not None
    now = _now()
    deadline = recordal_deadline(signed_on)
    agent = negotiation.get("agent_organisation_id")
    return {
        "_id": licence_id, "negotiation_id": negotiation["_id"], "listing_id": negotiation["listing_id"],
        "application_number": negotiation["application_number"], "patent_title": negotiation["patent_title"],
        "licence_type": licence_type.value,
        "licensor_organisation_id": negotiation["owner_organisation_id"], "licensor_agent_organisation_id": agent,
        "licensee_organisation_id": negotiation["counterparty_organisation_id"],
        "parties": sorted({negotiation["owner_organisation_id"], negotiation["counterparty_organisation_id"]}
                          | ({agent} if agent else set())),
        "scope": {"fields_of_use": list(terms.fields_of_use), "territories": list(terms.territories),
                  "term_start": terms.term_start.isoformat(), "term_end": terms.term_end.isoformat()},
        "upfront_fee_fen": terms.upfront_fee_fen, "royalty_rate_percent": str(terms.royalty_rate_percent),
        "agent_organisation_id": terms.agent_organisation_id, "agent_talent_id": terms.agent_talent_id,
        "signed_on": signed_on.isoformat(), "recordal_status": RecordalStatus.PENDING.value,
        "recordal_deadline": deadline.isoformat(), "filed_on": None, "recorded_on": None, "recordal_reference": None,
        "fair_id": negotiation.get("fair_id"), "taken_by_notice": False, "version": 1, "created_at": now,
        "updated_at": now,
    }


def _signed_event(doc: Document, terms: DealTerms, publicity_consent: bool | None) -> CloudEvent:
    """`publicity_consent`: whether both parties agreed that publicity may name them and the amounts
    (None for a licence taken by notice: there was no negotiation to ask it in)."""
    assert terms.term_start is not None and terms.term_end is not None
    return CloudEvent.new(SOURCE, doc["_id"], LicenceSigned(
        licence_id=doc["_id"], negotiation_id=doc["negotiation_id"], listing_id=doc["listing_id"],
        application_number=doc["application_number"], patent_title=doc["patent_title"],
        licence_type=doc["licence_type"], licensor_organisation_id=doc["licensor_organisation_id"],
        licensee_organisation_id=doc["licensee_organisation_id"], fields_of_use=list(terms.fields_of_use),
        territories=list(terms.territories), term_start=terms.term_start, term_end=terms.term_end,
        upfront_fee_fen=terms.upfront_fee_fen, royalty_rate_percent=terms.royalty_rate_percent,
        agent_talent_id=terms.agent_talent_id, signed_on=date.fromisoformat(doc["signed_on"]),
        recordal_deadline=date.fromisoformat(doc["recordal_deadline"]), fair_id=doc.get("fair_id"),
        occurred_at=doc["created_at"], publicity_consent=publicity_consent))


def may_see(doc: Document, caller: Principal) -> bool:
    return is_staff(caller) or (caller.organisation_id is not None and caller.organisation_id in doc["parties"])


async def find(ctx: ServiceContext, licence_id: str, caller: Principal) -> Document:
    """For its parties, IPO staff, and the patent's verified owner: the owner sees every licence
    recorded on its patents, including one that blocks its own licence."""
    doc = await store.get(ctx.db, licence_id)
    if doc is None or not (may_see(doc, caller)
                           or await patents.is_owner(ctx.db, doc["application_number"], caller.organisation_id)):
        raise not_found("licence", licence_id)
    return doc


async def change_recordal(ctx: ServiceContext, licence_id: str, data: RecordalChange, caller: Principal,
                          expected_version: int, digest: str | None) -> Document:
    """pending -> filed (by a party or staff) -> recorded (by an officer: the office's confirmation)."""
    body = data.model_dump(mode="json")
    events: list[CloudEvent] = []
    async with aggregates.change(ctx.db, store.AGGREGATE, licence_id, keep=("action_keys",)) as unit:
        doc = unit.document
        if doc is None or not may_see(doc, caller):
            raise not_found("licence", licence_id)
        if replayed(doc, digest, body):
            return doc
        if doc["version"] != expected_version:
            raise stale(doc["version"])
        wanted = RecordalStatus(data.status)
        if wanted is RecordalStatus.RECORDED and not caller.has_any([Role.OFFICER]):
            raise ProblemError(403, "Forbidden", "Only an IPO officer records a licence (the office's confirmation).",
                               kind="forbidden")
        try:
            next_recordal_status(RecordalStatus(doc["recordal_status"]), wanted)
        except ValueError as exc:
            raise rule_refused(str(exc), kind="recordal-rule") from exc
        on = data.on or _now().date()
        if on > _now().date() or on < date.fromisoformat(doc["signed_on"]):
            raise invalid("#/on", "must lie between the signature and today")
        changes: dict[str, Any] = {"recordal_status": wanted.value, "updated_at": _now(), **remember(digest, body)}
        if wanted is RecordalStatus.FILED:
            changes["filed_on"] = on.isoformat()
            if data.reference:
                changes["recordal_reference"] = data.reference
        else:
            changes["recorded_on"] = on.isoformat()
            changes["recordal_reference"] = data.reference or doc.get("recordal_reference")
            events.append(CloudEvent.new(SOURCE, licence_id, LicenceRecorded(
                licence_id=licence_id, application_number=doc["application_number"],
                licence_type=doc["licence_type"], licensor_organisation_id=doc["licensor_organisation_id"],
                licensee_organisation_id=doc["licensee_organisation_id"],
                recordal_reference=changes["recordal_reference"], recorded_on=on, fair_id=doc.get("fair_id"),
                occurred_at=_now())))
        try:
            await unit.write({"$set": changes}, events)
        except aggregates.StaleVersion as moved:
            raise stale(moved.current_version or expected_version) from None
    return await find(ctx, licence_id, caller)


def recordal_view(doc: Document, today: date) -> dict[str, Any]:
    deadline = date.fromisoformat(doc["recordal_deadline"])
    status = effective_recordal_status(RecordalStatus(doc["recordal_status"]), deadline, today)
    return {"status": status, "deadline": deadline, "overdue": status is RecordalStatus.OVERDUE,
            "filed_on": doc.get("filed_on"), "recorded_on": doc.get("recorded_on"),
            "reference": doc.get("recordal_reference")}


async def report_royalty(ctx: ServiceContext, licence_id: str, data: RoyaltyReportCreate,
                         caller: Principal) -> tuple[Document, bool]:
    """The licensee reports a period's net sales; one report per licence and period."""
    licence = await find(ctx, licence_id, caller)
    if caller.organisation_id != licence["licensee_organisation_id"]:
        raise ProblemError(403, "Forbidden", "Royalties are reported by the licensee.", kind="forbidden")
    try:
        period = Period.parse(data.period)
        check_reportable(period, date.fromisoformat(licence["scope"]["term_start"]),
                         date.fromisoformat(licence["scope"]["term_end"]), _now().date())
    except PeriodError as exc:
        raise invalid("#/period", str(exc)) from exc
    rate = Decimal(licence["royalty_rate_percent"])
    body = {"period": period.key, "net_sales_fen": data.net_sales_fen}
    doc: Document = {
        "_id": f"{licence_id}:{period.key}", "licence_id": licence_id, "period": period.key,
        "period_start": period.first_day.isoformat(), "period_end": period.last_day.isoformat(),
        "net_sales_fen": data.net_sales_fen, "royalty_rate_percent": str(rate),
        "royalty_due_fen": royalty_due_fen(data.net_sales_fen, rate),
        "reported_by_organisation_id": caller.organisation_id, "reported_at": _now(),
        "fingerprint": fingerprint(body),
    }
    stored, created = await store.insert_report(ctx.db, doc)
    if created or stored.get("fingerprint") == doc["fingerprint"]:
        return stored, created  # created now, or the same report again (a retry)
    earlier = stored
    raise rule_refused(f"The period {period.key} is already reported ({earlier['_id']}); a report is not changed.",
                       kind="royalty-period-reported", existing_report_id=earlier["_id"])


async def royalty_reports(ctx: ServiceContext, licence_id: str, caller: Principal) -> list[Document]:
    await find(ctx, licence_id, caller)
    return await store.reports(ctx.db, licence_id)
