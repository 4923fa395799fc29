"""HTTP routes for enrolments and certificates: thin, they translate between HTTP and the use cases.

Enrolments are private: the talent itself, the session's training base and officers see one; anyone
else gets 404. Commands are POSTs on the enrolment (approve, book, cancel, no-show, attendance,
assessment); an If-Match with the enrolment's ETag is optional and answered with 412 when stale, while
the state machine refuses a command from the wrong state with 409 in any case.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from servicekit.auth import Principal, current_principal
from servicekit.http import IdempotencyKeyHeader, expected_version, mark_created, set_etag
from servicekit.mongo import Document
from servicekit.routing import Context, OptionalIfMatch
from servicekit.service import ServiceContext

from training.enrolments import service
from training.enrolments.domain import EnrolmentState
from training.enrolments.models import (
    AssessmentBody,
    CancelBody,
    CertificateRead,
    EnrolmentCreate,
    EnrolmentPage,
    EnrolmentRead,
    HistoryEntry,
)
from training.talents import projection as talents

router = APIRouter(tags=["enrolments"])

Caller = Annotated[Principal, Depends(current_principal)]


def _expected(if_match: str | None) -> int | None:
    return expected_version(if_match) if if_match is not None else None


def read_enrolment(session: Document, eid: str, entry: Document, talent_status: str | None) -> EnrolmentRead:
    return EnrolmentRead(
        id=eid, session_id=session["_id"], course_id=session["course_id"], talent_id=entry["talent_id"],
        talent_status=talent_status, state=entry["state"], version=entry["version"],
        queue_position=entry.get("queue_position"), score=entry.get("score"), passed=entry.get("passed"),
        certificate_number=entry.get("certificate_number"), completed_at=entry.get("completed_at"),
        cancel_reason=entry.get("cancel_reason"), requested_at=entry["requested_at"],
        updated_at=entry["updated_at"], history=[HistoryEntry(**h) for h in entry["history"]],
    )


async def _answer(ctx: ServiceContext, enrolment: str, caller: Principal, response: Response) -> EnrolmentRead:
    session, entry = await service.find(ctx, enrolment, caller)
    talent = await talents.get(ctx.db, entry["talent_id"])
    set_etag(response, entry["version"])
    return read_enrolment(session, enrolment, entry, talent["status"] if talent else None)


@router.post("/v1/sessions/{session_id}/enrolments", status_code=201, response_model=EnrolmentRead,
             responses={409: {"description": "Talent not active, already enrolled, prerequisites missing"},
                        422: {"description": "Unknown talent"}})
async def request_enrolment(session_id: str, data: EnrolmentCreate, ctx: Context, caller: Caller,
                            response: Response, idempotency_key: IdempotencyKeyHeader = None) -> EnrolmentRead:
    """A talent asks for a place (participants for themselves, coordinators of the session's base for anyone)."""
    eid, created = await service.request(ctx, session_id, data.talent_id, caller, idempotency_key)
    mark_created(response, f"/v1/enrolments/{eid}", created)
    return await _answer(ctx, eid, caller, response)


@router.get("/v1/sessions/{session_id}/enrolments", response_model=EnrolmentPage)
async def list_session_enrolments(session_id: str, ctx: Context, caller: Caller,
                                  state: EnrolmentState | None = None) -> EnrolmentPage:
    """The session's enrolments (its training base and officers), optionally in one state."""
    session, entries = await service.of_session(ctx, session_id, caller, state)
    statuses = await talents.statuses(ctx.db, sorted({e["talent_id"] for _, e in entries}))
    return EnrolmentPage(items=[read_enrolment(session, eid, e, statuses.get(e["talent_id"])) for eid, e in entries])


@router.get("/v1/talents/{talent_id}/enrolments", response_model=EnrolmentPage)
async def list_talent_enrolments(talent_id: str, ctx: Context, caller: Caller) -> EnrolmentPage:
    """A talent's own enrolments; coordinators see those in their base's sessions, officers all."""
    found = await service.of_talent(ctx, talent_id, caller)
    talent = await talents.get(ctx.db, talent_id)
    status = talent["status"] if talent else None
    return EnrolmentPage(items=[read_enrolment(s, eid, e, status) for s, eid, e in found])


@router.get("/v1/enrolments/{enrolment_id}", response_model=EnrolmentRead)
async def get_enrolment(enrolment_id: str, ctx: Context, caller: Caller, response: Response) -> EnrolmentRead:
    return await _answer(ctx, enrolment_id, caller, response)


@router.post("/v1/enrolments/{enrolment_id}/approval", response_model=EnrolmentRead)
# Deprecated: the old name of this action, kept working (README, "Action routes").
@router.post("/v1/enrolments/{enrolment_id}/approve", response_model=EnrolmentRead, include_in_schema=False)
async def approve_enrolment(enrolment_id: str, ctx: Context, caller: Caller, response: Response,
                            if_match: OptionalIfMatch = None) -> EnrolmentRead:
    """The session's training base accepts the request: requested -> approved."""
    await service.approve(ctx, enrolment_id, caller, _expected(if_match))
    return await _answer(ctx, enrolment_id, caller, response)


@router.post("/v1/enrolments/{enrolment_id}/booking", response_model=EnrolmentRead)
# Deprecated: the old name of this action, kept working (README, "Action routes").
@router.post("/v1/enrolments/{enrolment_id}/book", response_model=EnrolmentRead, include_in_schema=False)
async def book_enrolment(enrolment_id: str, ctx: Context, caller: Caller, response: Response,
                         if_match: OptionalIfMatch = None) -> EnrolmentRead:
    """Take a seat: approved -> booked, or -> waitlisted when the session is full."""
    await service.book(ctx, enrolment_id, caller, _expected(if_match))
    return await _answer(ctx, enrolment_id, caller, response)


@router.post("/v1/enrolments/{enrolment_id}/cancellation", response_model=EnrolmentRead)
# Deprecated: the old name of this action, kept working (README, "Action routes").
@router.post("/v1/enrolments/{enrolment_id}/cancel", response_model=EnrolmentRead, include_in_schema=False)
async def cancel_enrolment(enrolment_id: str, data: CancelBody, ctx: Context, caller: Caller, response: Response,
                           if_match: OptionalIfMatch = None) -> EnrolmentRead:
    """Withdraw or refuse, with a reason; a freed seat goes to the first eligible talent waiting."""
    await service.cancel(ctx, enrolment_id, caller, data.reason, _expected(if_match))
    return await _answer(ctx, enrolment_id, caller, response)


@router.post("/v1/enrolments/{enrolment_id}/no-show", response_model=EnrolmentRead)
async def record_no_show(enrolment_id: str, ctx: Context, caller: Caller, response: Response,
                         if_match: OptionalIfMatch = None) -> EnrolmentRead:
    await service.record_no_show(ctx, enrolment_id, caller, _expected(if_match))
    return await _answer(ctx, enrolment_id, caller, response)


@router.post("/v1/enrolments/{enrolment_id}/attendance", response_model=EnrolmentRead)
async def record_attendance(enrolment_id: str, ctx: Context, caller: Caller, response: Response,
                            if_match: OptionalIfMatch = None) -> EnrolmentRead:
    """booked -> attended (refused while the talent is not active in the registry)."""
    await service.record_attendance(ctx, enrolment_id, caller, _expected(if_match))
    return await _answer(ctx, enrolment_id, caller, response)


@router.post("/v1/enrolments/{enrolment_id}/assessment", response_model=EnrolmentRead)
async def assess_enrolment(enrolment_id: str, data: AssessmentBody, ctx: Context, caller: Caller,
                           response: Response, if_match: OptionalIfMatch = None) -> EnrolmentRead:
    """Record the score; at or above the pass mark the enrolment completes with a certificate number."""
    await service.assess(ctx, enrolment_id, caller, data.score, _expected(if_match))
    return await _answer(ctx, enrolment_id, caller, response)


@router.get("/v1/certificates/{certificate_number}", response_model=CertificateRead, tags=["certificates"])
async def verify_certificate(certificate_number: str, ctx: Context) -> CertificateRead:
    """Public: what a training certificate number proves."""
    doc = await service.certificate(ctx, certificate_number)
    return CertificateRead(certificate_number=doc["_id"], **{k: v for k, v in doc.items()
                                                             if k in CertificateRead.model_fields})
