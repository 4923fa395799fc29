"""HTTP routes for eligibility, evaluations and the certification rules: thin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from servicekit.auth import Principal, Role, current_principal, require_roles
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

from registry.certification import service, store
from registry.certification.domain import EvaluationStatus
from registry.certification.models import (
    EligibilityRead,
    EvaluationCreate,
    EvaluationPage,
    EvaluationRead,
    Refusal,
    RuleSetRead,
)
from registry.certification.rules import RuleSetBody
from registry.talents import service as talents
from registry.talents.domain import TalentCategory, TalentLevel

router = APIRouter(prefix="/v1", tags=["certification"])

Caller = Annotated[Principal, Depends(current_principal)]
Staff = Annotated[Principal, Depends(require_roles(Role.COORDINATOR, Role.OFFICER))]
Officer = Annotated[Principal, Depends(require_roles(Role.OFFICER))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


def _read(doc: Document) -> EvaluationRead:
    return EvaluationRead.model_validate({**doc, "id": doc["_id"]})


def _rules(doc: Document) -> RuleSetRead:
    return RuleSetRead.model_validate(doc)


@router.get("/talents/{talent_id}/eligibility", response_model=EligibilityRead)
async def talent_eligibility(talent_id: str, level: TalentLevel, category: TalentCategory, ctx: Context,
                             caller: Caller) -> EligibilityRead:
    """What the talent still lacks for a level in a category (staff, or the talent itself)."""
    talent = await talents.find_for(ctx, talent_id, caller)
    result, rules_version = await service.assess(ctx, talent, level, category)
    return EligibilityRead.of(talent_id, result, rules_version)


@router.post("/evaluations", status_code=201, response_model=EvaluationRead,
             responses={404: {"description": "No such talent (or not one the caller may see)"}})
async def apply_for_evaluation(data: EvaluationCreate, ctx: Context, caller: Caller, response: Response,
                               idempotency_key: IdempotencyKeyHeader = None) -> EvaluationRead:
    """Apply for certification at a level in a category: staff for any talent, a talent for itself."""
    doc, created = await service.apply(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/evaluations/{doc['_id']}", created)
    set_etag(response, doc["version"])
    return _read(doc)


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationRead)
async def get_evaluation(evaluation_id: str, ctx: Context, caller: Caller, response: Response) -> EvaluationRead:
    doc = await service.find_for(ctx, evaluation_id, caller)
    set_etag(response, doc["version"])
    return _read(doc)


@router.get("/evaluations", response_model=EvaluationPage)
async def list_evaluations(
    ctx: Context, page: Pagination, caller: Staff, talent_id: str | None = None, status: EvaluationStatus | None = None,
) -> EvaluationPage:
    filters: dict[str, str] = {}
    if talent_id:
        filters["talent_id"] = talent_id
    if status:
        filters["status"] = status.value
    after = id_after(page.cursor)
    docs = await store.page(ctx.db[store.EVALUATIONS], filters, after, page.limit + 1)
    docs, next_cursor = next_page(docs, page.limit)
    return EvaluationPage(items=[_read(d) for d in docs], next_cursor=next_cursor)


@router.post("/evaluations/{evaluation_id}/review", response_model=EvaluationRead)
async def start_review(evaluation_id: str, ctx: Context, caller: Officer, response: Response,
                       if_match: IfMatch = None) -> EvaluationRead:
    doc = await service.start_review(ctx, evaluation_id, expected_version(if_match), caller)
    set_etag(response, doc["version"])
    return _read(doc)


@router.post("/evaluations/{evaluation_id}/grant", response_model=EvaluationRead,
             responses={409: {"description": "Not eligible (the problem lists what is missing), or wrong step"}})
async def grant_evaluation(evaluation_id: str, ctx: Context, caller: Officer, response: Response,
                           if_match: IfMatch = None) -> EvaluationRead:
    """Grant the level: needs the talent to be eligible under the current rules; sets the talent's
    level, issues a certificate number and publishes talent.certified."""
    doc = await service.grant(ctx, evaluation_id, expected_version(if_match), caller)
    set_etag(response, doc["version"])
    return _read(doc)


@router.post("/evaluations/{evaluation_id}/refusal", response_model=EvaluationRead)
# Deprecated: the old name of this action, kept working (README, "Action routes").
@router.post("/evaluations/{evaluation_id}/refuse", response_model=EvaluationRead, include_in_schema=False)
async def refuse_evaluation(evaluation_id: str, data: Refusal, ctx: Context, caller: Officer, response: Response,
                            if_match: IfMatch = None) -> EvaluationRead:
    doc = await service.refuse(ctx, evaluation_id, data, expected_version(if_match), caller)
    set_etag(response, doc["version"])
    return _read(doc)


@router.get("/certification-rules", response_model=RuleSetRead)
async def get_rules(ctx: Context, response: Response) -> RuleSetRead:
    """Public: the rules a certification is decided by."""
    _, doc = await service.current_rules(ctx)
    set_etag(response, doc["version"])
    return _rules(doc)


@router.put("/certification-rules", response_model=RuleSetRead)
async def replace_rules(data: RuleSetBody, ctx: Context, caller: Admin, response: Response,
                        if_match: IfMatch = None) -> RuleSetRead:
    """Replace the rules (admins), guarded by If-Match. Evaluations record the version they were decided under."""
    doc = await service.replace_rules(ctx, data, expected_version(if_match), caller)
    set_etag(response, doc["version"])
    return _rules(doc)
