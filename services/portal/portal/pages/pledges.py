"""Pledges (IP-backed loans): the patent's owner requests one on its listing's patent; every co-owner
consents; an officer registers it; the pledgee (or an officer) releases it. The officer's queue lists
the requested pledges to register and the registered ones."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.apis import ApiProblem
from portal.i18n import yuan_to_fen
from portal.pages.common import AMOUNT_HINT, apis, formatter, render, require_csrf, signed_in_or_redirect, token
from portal.pages.dealing import act, errors_of, refusal
from portal.sessions import load

router = APIRouter()
PLEDGE_LABELS = {"listing_id": "Listing", "pledgee_organisation_id": "Pledgee (credit code)",
                 "amount": "Loan amount (yuan)", "loan_due_on": "Loan due on"}


async def _mine(request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response:
    api, bearer = apis(request), await token(request)
    pledges = await api.get("trading", "/v1/pledges", token=bearer, params={"limit": 50})
    listings = await api.get("trading", "/v1/listings/mine", token=bearer)
    return render(request, "pledges.html", status=status, items=pledges["items"], officer=False,
                  listings=listings["items"], values=values, errors=errors, labels=PLEDGE_LABELS,
                  org=load(request).org)


@router.get("/my/pledges", response_class=HTMLResponse)
async def my_pledges(request: Request) -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    return await _mine(request, {}, {})


@router.post("/my/pledges", response_class=HTMLResponse)
async def request_pledge(
    request: Request, csrf_token: Annotated[str, Form()] = "", listing_id: Annotated[str, Form()] = "",
    pledgee_organisation_id: Annotated[str, Form()] = "", amount: Annotated[str, Form()] = "",
    loan_due_on: Annotated[str, Form()] = "",
) -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    fmt = formatter(request)
    values = {"listing_id": listing_id, "pledgee_organisation_id": pledgee_organisation_id, "amount": amount,
              "loan_due_on": loan_due_on}
    fen = yuan_to_fen(amount) if amount.strip() else None
    if fen is None:
        return await _mine(request, values, {"amount": fmt.gettext(AMOUNT_HINT)}, status=422)
    body = {"listing_id": listing_id, "pledgee_organisation_id": pledgee_organisation_id, "amount_fen": fen,
            "loan_due_on": loan_due_on or None}
    try:
        await act(request, "POST", "/v1/pledges", json=body)
    except ApiProblem as problem:
        return await _mine(request, values, errors_of(problem, fmt, renames={"amount_fen": "amount"}), status=422)
    return RedirectResponse("/my/pledges", status_code=303)


async def _queue(request: Request, errors: dict[str, str], status: int = 200) -> Response:
    api, bearer = apis(request), await token(request)
    requested = await api.get("trading", "/v1/pledges", token=bearer, params={"status": "requested", "limit": 100})
    registered = await api.get("trading", "/v1/pledges", token=bearer, params={"status": "registered", "limit": 100})
    return render(request, "pledges.html", status=status, items=requested["items"] + registered["items"],
                  officer=True, listings=[], values={}, errors=errors, labels=PLEDGE_LABELS, org=None)


@router.get("/officer/pledges", response_class=HTMLResponse)
async def pledge_queue(request: Request) -> Response:
    if (redirect := signed_in_or_redirect(request, "officer")) is not None:
        return redirect
    return await _queue(request, {})


ACTIONS = {"consent": ("consents", "participant"), "register": ("registration", "officer"),
           "release": ("release", "participant")}


@router.post("/pledges/{pledge_id}/{action}", response_class=HTMLResponse)
async def act_on_pledge(request: Request, pledge_id: str, action: str, csrf_token: Annotated[str, Form()] = "",
                        version: Annotated[str, Form()] = "", reference: Annotated[str, Form()] = "") -> Response:
    """A co-owner consents; an officer registers; the pledgee or an officer releases."""
    if action not in ACTIONS:
        return render(request, "not_found.html", status=404)
    path, role = ACTIONS[action]
    roles = ("participant", "officer") if action == "release" else (role,)
    if (redirect := signed_in_or_redirect(request, *roles)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    officer = load(request).has_role("officer")
    body = {"reference": reference or None} if action in ("register", "release") else None
    try:
        await act(request, "POST", f"/v1/pledges/{pledge_id}/{path}", json=body, version=version)
    except ApiProblem as problem:
        errors = {pledge_id: refusal(problem, formatter(request))}
        return await (_queue(request, errors, 422) if officer else _mine(request, {}, errors, 422))
    return RedirectResponse("/officer/pledges" if officer else "/my/pledges", status_code=303)
