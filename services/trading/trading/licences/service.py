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
    LicenceType,
    RecordalStatus,
    effective_recordal_status,
    next_recordal_status,
    recordal_deadline,
)
from trading.licences.events import LicenceRecorded, LicenceSigned
from trading.licences.models import RecordalChange, RoyaltyReportCreate
from trading.licences.royalties import Period, PeriodError, check_reportable, royalty_due_fen
from trading.licences.scope import Scope
from trading.negotiations.idempotency import remember, replayed
from trading.negotiations.models import DealTerms
from trading.negotiations.parties import is_staff
from trading.negotiations.problems import busy, invalid, not_found, rule_refused
from trading.patents import service as patents
from trading.patents import store as patent_store

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
        raise rule_refused(f"This {licence_type.value.replace('_', ' ')} conflicts with {conflict.licence_id}: "
                           f"{conflict.reason}.", kind="licence-conflict",
                           conflicting_licence_id=conflict.licence_id,
                           conflicting_licence=(None if conflict.licence_id == "open-licence"
                                                else f"/v1/licences/{conflict.licence_id}"))
    now = _now()
    deadline = recordal_deadline(signed_on)
    agent = negotiation.get("agent_organisation_id")
    doc: Document = {
        "_id": licence_id, "negotiation_id": negotiation["_id"], "listing_id": negotiation["listing_id"],
        "application_number": application_number, "patent_title": negotiation["patent_title"],
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
        "fair_id": negotiation.get("fair_id"), "version": 1, "created_at": now, "updated_at": now,
    }
    event = CloudEvent.new(SOURCE, licence_id, LicenceSigned(
        licence_id=licence_id, negotiation_id=negotiation["_id"], listing_id=negotiation["listing_id"],
        application_number=application_number, patent_title=negotiation["patent_title"],
        licence_type=licence_type.value, licensor_organisation_id=doc["licensor_organisation_id"],
        licensee_organisation_id=doc["licensee_organisation_id"], fields_of_use=list(terms.fields_of_use),
        territories=list(terms.territories), term_start=terms.term_start, term_end=terms.term_end,
        upfront_fee_fen=terms.upfront_fee_fen, royalty_rate_percent=terms.royalty_rate_percent,
        agent_talent_id=terms.agent_talent_id, signed_on=signed_on, recordal_deadline=deadline,
        fair_id=negotiation.get("fair_id"), occurred_at=now))
    if await store.insert(ctx.db, doc, [event]):
        deal_metrics().licences_signed.labels(licence_type.value).inc()
    found = await store.get(ctx.db, licence_id)
    assert found is not None
    return found


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
