"""Patent ownership: a participant claims a patent for its organisation with the evidence and follows
the claim (status, the officer's decision and reason); an officer works through the queue of claims,
verifying or rejecting each."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.apis import ApiProblem
from portal.pages.common import apis, formatter, render, require_csrf, signed_in_or_redirect, split_list, token
from portal.pages.dealing import act, errors_of
from portal.sessions import load

router = APIRouter()
EVIDENCE_KINDS = ("certificate", "register_extract")
CLAIM_LABELS = {"application_number": "Application number", "owners": "Patentees as recorded",
                "kind": "Evidence", "reference": "Evidence reference", "dated": "Evidence date"}


async def _my_numbers(request: Request) -> list[str]:
    """The patents of the organisation's listings (the API keeps no list of an organisation's claims:
    a claimed patent not yet listed is found by its number)."""
    page = await apis(request).get("trading", "/v1/listings/mine", token=await token(request))
    return sorted({item["application_number"] for item in page["items"]})


async def _patents_page(request: Request, values: dict[str, Any], errors: dict[str, str],
                        status: int = 200) -> Response:
    return render(request, "my_patents.html", status=status, numbers=await _my_numbers(request), values=values,
                  errors=errors, evidence_kinds=EVIDENCE_KINDS, labels=CLAIM_LABELS)


@router.get("/my/patents", response_class=HTMLResponse)
async def my_patents(request: Request, number: str = "") -> Response:
    """The organisation's patents, a form to look one up by number and a form to claim one."""
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    if number.strip():
        return RedirectResponse(f"/my/patents/{quote(number.strip(), safe='')}", status_code=303)
    return await _patents_page(request, {"kind": "certificate"}, {})


@router.post("/my/patents", response_class=HTMLResponse)
async def claim_patent(
    request: Request, csrf_token: Annotated[str, Form()] = "", application_number: Annotated[str, Form()] = "",
    owners: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "", reference: Annotated[str, Form()] = "",
    dated: Annotated[str, Form()] = "",
) -> Response:
    """Claim the patent for the signed-in user's organisation; an officer decides."""
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    values = {"application_number": application_number, "owners": owners, "kind": kind, "reference": reference,
              "dated": dated}
    errors: dict[str, str] = {}
    number = application_number.strip()
    if not number:
        errors["application_number"] = formatter(request).gettext("This field is required.")
    else:
        body = {"owners": split_list(owners),
                "evidence": {"kind": kind, "reference": reference, "dated": dated or None}}
        try:
            patent = await act(request, "POST", f"/v1/patents/{quote(number, safe='')}/claims", json=body)
            return RedirectResponse(f"/my/patents/{patent['application_number']}", status_code=303)
        except ApiProblem as problem:
            errors = errors_of(problem, formatter(request), under="evidence")
            if problem.status == 409:  # registered to another owner, or already the owner: about the number
                errors = {"application_number": errors.pop("", "")} | errors
    return await _patents_page(request, values, errors, status=422)


@router.get("/my/patents/{number}", response_class=HTMLResponse)
async def patent_page(request: Request, number: str) -> Response:
    """A patent as the organisation sees it: its verified owner, the organisation's own claim with the
    officer's decision, and the deals recorded on it when the organisation owns it."""
    if (redirect := signed_in_or_redirect(request, "participant", "officer")) is not None:
        return redirect
    try:
        patent = await apis(request).get("trading", f"/v1/patents/{quote(number, safe='')}",
                                         token=await token(request))
    except ApiProblem as problem:
        if problem.status in (404, 422):
            return render(request, "not_found.html", status=404)
        raise
    return render(request, "patent.html", patent=patent, mine=patent.get("owner_organisation_id") == load(request).org)


# --- The officer's queue -----------------------------------------------------------------------------

async def _queue_page(request: Request, errors: dict[str, str], status: int = 200) -> Response:
    api, bearer = apis(request), await token(request)
    queue = (await api.get("trading", "/v1/patents/claim-queue", token=bearer))["items"]
    # The queue names the claimants; each patent's page gives the officer every claim's evidence.
    patents: dict[str, dict[str, Any]] = {}
    for item in queue[:50]:
        try:
            patents[item["application_number"]] = await api.get(
                "trading", f"/v1/patents/{item['application_number']}", token=bearer)
        except ApiProblem:
            continue
    return render(request, "officer_claims.html", status=status, queue=queue, patents=patents, errors=errors)


@router.get("/officer/claims", response_class=HTMLResponse)
async def claim_queue(request: Request) -> Response:
    if (redirect := signed_in_or_redirect(request, "officer")) is not None:
        return redirect
    return await _queue_page(request, {})


@router.post("/officer/claims/{number}/{organisation_id}/{decision}", response_class=HTMLResponse)
async def decide_claim(request: Request, number: str, organisation_id: str, decision: str,
                       csrf_token: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "") -> Response:
    """Verify (the claimant becomes the owner, other claims are rejected) or reject (with a reason)."""
    if (redirect := signed_in_or_redirect(request, "officer")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    paths = {"verify": "verification", "reject": "rejection"}
    if decision not in paths:
        return render(request, "not_found.html", status=404)
    body: dict[str, Any] | None = {"reason": reason} if reason.strip() or decision == "reject" else None
    try:
        await act(request, "POST", f"/v1/patents/{quote(number, safe='')}/claims/{quote(organisation_id, safe='')}/"
                  f"{paths[decision]}", json=body)
    except ApiProblem as problem:
        found = errors_of(problem, formatter(request))
        message = found.get("reason") or found.get("") or next(iter(found.values()))
        return await _queue_page(request, {f"{number}/{organisation_id}": message}, status=422)
    return RedirectResponse("/officer/claims", status_code=303)
