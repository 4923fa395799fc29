"""HTTP routes for licences, their recordal and royalty reports: thin."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from servicekit.http import (
    IdempotencyKeyHeader,
    expected_version,
    id_after,
    mark_created,
    next_page,
    set_etag,
)
from servicekit.mongo import Document
from servicekit.routing import Context, IfMatch, Pagination

from trading.licences import service, store
from trading.licences.domain import RecordalStatus
from trading.licences.models import (
    LicencePage,
    LicenceRead,
    LicenceScopeRead,
    OpenLicenceNotice,
    RecordalChange,
    RecordalRead,
    RoyaltyReportCreate,
    RoyaltyReportPage,
    RoyaltyReportRead,
)
from trading.negotiations.idempotency import action_digest
from trading.negotiations.parties import Anyone, Participant, is_staff
from trading.patents import service as patents
from trading.patents.params import ApplicationNumberQuery, application_number_param

router = APIRouter(prefix="/v1/licences", tags=["licences"])


def _today() -> date:
    return datetime.now(UTC).date()


def _read(doc: Document) -> LicenceRead:
    scope = doc["scope"]
    return LicenceRead(
        id=doc["_id"], negotiation_id=doc["negotiation_id"], taken_by_notice=bool(doc.get("taken_by_notice")),
        listing_id=doc["listing_id"],
        application_number=doc["application_number"], patent_title=doc["patent_title"],
        licence_type=doc["licence_type"], licensor_organisation_id=doc["licensor_organisation_id"],
        licensor_agent_organisation_id=doc.get("licensor_agent_organisation_id"),
        licensee_organisation_id=doc["licensee_organisation_id"],
        scope=LicenceScopeRead(fields_of_use=scope["fields_of_use"], territories=scope["territories"],
                               term_start=scope["term_start"], term_end=scope["term_end"]),
        upfront_fee_fen=doc["upfront_fee_fen"], royalty_rate_percent=doc["royalty_rate_percent"],
        agent_organisation_id=doc.get("agent_organisation_id"), agent_talent_id=doc.get("agent_talent_id"),
        signed_on=doc["signed_on"], recordal=RecordalRead.model_validate(service.recordal_view(doc, _today())),
        fair_id=doc.get("fair_id"), version=doc["version"], created_at=doc["created_at"],
        updated_at=doc["updated_at"])


@router.get("", response_model=LicencePage)
async def list_licences(
    ctx: Context, page: Pagination, caller: Anyone,
    recordal: Annotated[RecordalStatus | None, Query(description="only `overdue` filters here")] = None,
    application_number: ApplicationNumberQuery = None,
) -> LicencePage:
    """Licences the caller's organisation is party to; IPO staff see all, and a patent's verified owner
    every licence on it (`application_number=`). `recordal=overdue` lists those
    still not filed for recordal three months after signature."""
    application_number = application_number_param(application_number)
    after = id_after(page.cursor)
    organisation = None if is_staff(caller) else (caller.organisation_id or "")
    if application_number is not None and await patents.is_owner(ctx.db, application_number, caller.organisation_id):
        organisation = None  # the verified owner sees every licence recorded on its patent
    overdue_on = _today() if recordal is RecordalStatus.OVERDUE else None
    docs = await store.page(ctx.db, organisation, overdue_on, application_number, after, page.limit + 1)
    if recordal is not None and recordal is not RecordalStatus.OVERDUE:
        docs = [d for d in docs if service.recordal_view(d, _today())["status"] is recordal]
    docs, next_cursor = next_page(docs, page.limit)
    return LicencePage(items=[_read(d) for d in docs], next_cursor=next_cursor)


@router.post("/open-licence-notices", status_code=201, response_model=LicenceRead,
             responses={409: {"description": "The patent carries no open licence, or a licence conflicts"}})
async def take_open_licence(data: OpenLicenceNotice, ctx: Context, caller: Participant,
                            response: Response) -> LicenceRead:
    """Take a patent's open licence by notice at its published terms, with no negotiation: an ordinary
    licence (every field, all of China) whose recordal and royalties work like any other. The same
    notice again (licensee, patent, first day) answers 200 with the licence it made."""
    doc, created = await service.take_open_licence(ctx, data, caller)
    mark_created(response, f"/v1/licences/{doc['_id']}", created)
    set_etag(response, doc["version"])
    return _read(doc)


@router.get("/{licence_id}", response_model=LicenceRead, responses={404: {"description": "Not a party"}})
async def get_licence(licence_id: str, ctx: Context, caller: Anyone, response: Response) -> LicenceRead:
    doc = await service.find(ctx, licence_id, caller)
    set_etag(response, doc["version"])
    return _read(doc)


@router.post("/{licence_id}/recordal", response_model=LicenceRead)
async def change_recordal(licence_id: str, data: RecordalChange, ctx: Context, caller: Anyone, response: Response,
                          if_match: IfMatch = None, idempotency_key: IdempotencyKeyHeader = None) -> LicenceRead:
    """pending -> filed (a party or staff) -> recorded (an officer)."""
    digest = action_digest(caller.subject, idempotency_key, f"recordal:{licence_id}") if idempotency_key else None
    doc = await service.change_recordal(ctx, licence_id, data, caller, expected_version(if_match), digest)
    set_etag(response, doc["version"])
    return _read(doc)


def _report(doc: Document) -> RoyaltyReportRead:
    return RoyaltyReportRead(id=doc["_id"], **{k: v for k, v in doc.items() if k not in ("_id", "fingerprint")})


@router.post("/{licence_id}/royalty-reports", status_code=201, response_model=RoyaltyReportRead,
             responses={409: {"description": "The period is already reported"}})
async def report_royalty(licence_id: str, data: RoyaltyReportCreate, ctx: Context, caller: Participant,
                         response: Response, idempotency_key: IdempotencyKeyHeader = None) -> RoyaltyReportRead:
    """The licensee reports a period's net sales. Idempotent by (licence, period), whatever the
    Idempotency-Key: the same report again answers 200; a different one for a reported period is refused."""
    doc, created = await service.report_royalty(ctx, licence_id, data, caller)
    response.status_code = 201 if created else 200
    return _report(doc)


@router.get("/{licence_id}/royalty-reports", response_model=RoyaltyReportPage)
async def royalty_reports(licence_id: str, ctx: Context, caller: Anyone) -> RoyaltyReportPage:
    docs = await service.royalty_reports(ctx, licence_id, caller)
    return RoyaltyReportPage(items=[_report(d) for d in docs],
                             total_royalty_due_fen=sum(int(d["royalty_due_fen"]) for d in docs))
