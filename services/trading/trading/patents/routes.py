"""HTTP routes for patents: ownership claims, the officer's queue and decisions, term extensions.
Thin; a patent number in the path is accepted in every written form and canonicalised."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from servicekit.auth import Principal, Role, require_roles
from servicekit.http import set_etag
from servicekit.problems import ProblemError
from servicekit.routing import Context

from trading.fields import OrganisationId
from trading.patents import service
from trading.patents.identifiers import APPLICATION_NUMBER_PATTERN, IdentifierError, normalise_application_number
from trading.patents.models import (
    ClaimCreate,
    ClaimDecision,
    ClaimQueue,
    ClaimRejection,
    PatentRead,
    QueueItem,
    TermExtensionCreate,
)

router = APIRouter(prefix="/v1/patents", tags=["patents"])

Officer = Annotated[Principal, Depends(require_roles(Role.OFFICER))]
Anyone = Annotated[Principal, Depends(require_roles(Role.PARTICIPANT, Role.OFFICER, Role.COORDINATOR))]


async def _claimant(principal: Annotated[Principal, Depends(require_roles(Role.PARTICIPANT))]) -> Principal:
    if not principal.organisation_id:
        raise ProblemError(403, "Forbidden", "A patent is claimed by an organisation: this token carries no `org` "
                                             "claim.", kind="no-organisation")
    return principal


Claimant = Annotated[Principal, Depends(_claimant)]


# `async def` though it awaits nothing: FastAPI would run a plain `def` dependency in its thread pool.
async def _number(application_number: Annotated[str, Path(
        max_length=40, description="Application or patent number in any written form (dotted, ZL, CN, full-width)",
        examples=["202310123456.6"], json_schema_extra={"pattern": APPLICATION_NUMBER_PATTERN})]) -> str:
    try:
        return normalise_application_number(application_number)
    except IdentifierError as exc:
        raise ProblemError(422, "Invalid request", f"application_number: {exc}", kind="validation",
                           errors=[{"path": "application_number", "detail": str(exc)}]) from None


# Declared after the caller in every route: FastAPI runs dependencies in order, and a request without a
# valid token gets 401 before anything about its path is checked.
Number = Annotated[str, Depends(_number)]


def _read(response: Response, view: dict[str, object]) -> PatentRead:
    result = PatentRead.model_validate(view)
    set_etag(response, result.version)
    return result


@router.get("/claim-queue", response_model=ClaimQueue)
async def claim_queue(ctx: Context, caller: Officer) -> ClaimQueue:
    """Patents whose claims await an officer's decision, contested ones (several claimants) first."""
    items = await service.queue(ctx)
    return ClaimQueue(items=[QueueItem(application_number=d["_id"], contested=bool(d.get("contested")),
                                       claimants=d.get("claimants") or [], since=d["since"])
                             for d in items if d.get("claimants") and d.get("since")])


@router.get("/{application_number}", response_model=PatentRead, responses={404: {"description": "Unknown"}})
async def get_patent(caller: Anyone, number: Number, ctx: Context, response: Response) -> PatentRead:
    """The patent's verified owner, open listing, open licence and term extensions. Your own claim;
    the deals recorded on it (licences, transfers, pledges in force) for its owner and IPO staff."""
    return _read(response, await service.view(ctx, number, caller))


@router.post("/{application_number}/claims", status_code=201, response_model=PatentRead,
             responses={200: {"model": PatentRead, "description": "The same claim again: nothing changed"},
                        409: {"description": "Registered to another owner"}})
async def claim_patent(caller: Claimant, number: Number, data: ClaimCreate, ctx: Context,
                       response: Response) -> PatentRead:
    """Your organisation claims the patent, naming the owners as recorded and its evidence. An IPO
    officer verifies or rejects it; `contested` in your claim says another organisation claims it too.
    The same claim again answers 200."""
    _, created = await service.claim(ctx, number, data, caller)
    response.status_code = 201 if created else 200
    return _read(response, await service.view(ctx, number, caller))


@router.post("/{application_number}/claims/{organisation_id}/verification", response_model=PatentRead,
             responses={409: {"description": "Already decided, or verified to another owner"}})
async def verify_claim(caller: Officer, number: Number, organisation_id: OrganisationId, ctx: Context,
                       response: Response, data: ClaimDecision | None = None) -> PatentRead:
    """An IPO officer verifies the claim against the register: the claimant becomes the owner and any
    other pending claim is rejected."""
    await service.decide(ctx, number, organisation_id, True, data or ClaimDecision(), caller)
    return _read(response, await service.view(ctx, number, caller))


@router.post("/{application_number}/claims/{organisation_id}/rejection", response_model=PatentRead,
             responses={409: {"description": "Already decided"}})
async def reject_claim(caller: Officer, number: Number, organisation_id: OrganisationId, data: ClaimRejection,
                       ctx: Context, response: Response) -> PatentRead:
    """An IPO officer rejects the claim, with a reason."""
    await service.decide(ctx, number, organisation_id, False, ClaimDecision(reason=data.reason), caller)
    return _read(response, await service.view(ctx, number, caller))


@router.post("/{application_number}/term-extensions", response_model=PatentRead,
             responses={409: {"description": "Not an invention"}})
async def extend_term(caller: Officer, number: Number, data: TermExtensionCreate, ctx: Context,
                      response: Response) -> PatentRead:
    """An IPO officer records a term extension with its legal basis (Patent Law art. 42(2) or 42(3));
    the same decision reference again changes nothing."""
    await service.extend_term(ctx, number, data, caller)
    return _read(response, await service.view(ctx, number, caller))
