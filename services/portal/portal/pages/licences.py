"""Licences: the organisation's licences with their recordal (pending -> filed by a party -> recorded
by an officer; overdue three months after signature) and royalty reports (the licensee reports a
period's net sales); the officer's queue of recordals filed and overdue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.apis import ApiProblem
from portal.i18n import yuan_to_fen
from portal.pages.common import AMOUNT_HINT, apis, formatter, render, require_csrf, signed_in_or_redirect, token
from portal.pages.dealing import act, errors_of
from portal.sessions import load

router = APIRouter()
LICENCE_LABELS = {"reference": "Filing reference", "on": "Date", "period": "Period", "net_sales": "Net sales (yuan)"}


@router.get("/my/licences", response_class=HTMLResponse)
async def my_licences(request: Request, cursor: str = "") -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    params: dict[str, Any] = {"limit": 50}
    if cursor:
        params["cursor"] = cursor
    page = await apis(request).get("trading", "/v1/licences", token=await token(request), params=params)
    return render(request, "my_licences.html", items=page["items"], next_cursor=page.get("next_cursor"))


async def _licence_page(request: Request, licence_id: str, errors: dict[str, str] | None = None,
                        values: dict[str, str] | None = None, status: int = 200) -> Response:
    api, bearer = apis(request), await token(request)
    try:
        licence = await api.get("trading", f"/v1/licences/{licence_id}", token=bearer)
        reports = await api.get("trading", f"/v1/licences/{licence_id}/royalty-reports", token=bearer)
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    org = load(request).org
    return render(request, "licence.html", status=status, licence=licence, reports=reports, errors=errors or {},
                  values=values or {}, labels=LICENCE_LABELS, licensee=org == licence["licensee_organisation_id"],
                  party=org in (licence["licensee_organisation_id"], licence["licensor_organisation_id"],
                                licence.get("licensor_agent_organisation_id"), licence.get("agent_organisation_id")))


@router.get("/my/licences/{licence_id}", response_class=HTMLResponse)
async def licence_page(request: Request, licence_id: str) -> Response:
    if (redirect := signed_in_or_redirect(request, "participant", "officer")) is not None:
        return redirect
    return await _licence_page(request, licence_id)


@router.post("/my/licences/{licence_id}/recordal", response_class=HTMLResponse)
async def file_recordal(request: Request, licence_id: str, csrf_token: Annotated[str, Form()] = "",
                        version: Annotated[str, Form()] = "", reference: Annotated[str, Form()] = "",
                        on: Annotated[str, Form()] = "") -> Response:
    """A party has filed the licence for recordal with the office."""
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    body = {"status": "filed", "reference": reference or None, "on": on or None}
    try:
        await act(request, "POST", f"/v1/licences/{licence_id}/recordal", json=body, version=version)
    except ApiProblem as problem:
        return await _licence_page(request, licence_id, errors_of(problem, formatter(request)),
                                   {"reference": reference, "on": on}, status=422)
    return RedirectResponse(f"/my/licences/{licence_id}", status_code=303)


@router.post("/my/licences/{licence_id}/royalty-reports", response_class=HTMLResponse)
async def report_royalty(request: Request, licence_id: str, csrf_token: Annotated[str, Form()] = "",
                         period: Annotated[str, Form()] = "", net_sales: Annotated[str, Form()] = "") -> Response:
    """The licensee reports a period's net sales; the API computes the royalty due."""
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    fmt = formatter(request)
    fen = yuan_to_fen(net_sales) if net_sales.strip() else None
    errors: dict[str, str] = {}
    if fen is None:
        errors["net_sales"] = fmt.gettext(AMOUNT_HINT)
    else:
        try:
            await act(request, "POST", f"/v1/licences/{licence_id}/royalty-reports",
                      json={"period": period, "net_sales_fen": fen})
            return RedirectResponse(f"/my/licences/{licence_id}", status_code=303)
        except ApiProblem as problem:
            errors = errors_of(problem, fmt, renames={"net_sales_fen": "net_sales"})
            if problem.status == 409:
                errors = {"period": errors.pop("", "")} | errors
    return await _licence_page(request, licence_id, errors, {"period": period, "net_sales": net_sales}, status=422)


# --- The officer's queue of recordals -------------------------------------------------------------------

async def _recordals_page(request: Request, errors: dict[str, str], status: int = 200) -> Response:
    api, bearer = apis(request), await token(request)
    filed = (await api.get("trading", "/v1/licences", token=bearer, params={"recordal": "filed", "limit": 100}))
    overdue = (await api.get("trading", "/v1/licences", token=bearer, params={"recordal": "overdue", "limit": 100}))
    return render(request, "officer_recordals.html", status=status, filed=filed["items"], overdue=overdue["items"],
                  errors=errors)


@router.get("/officer/recordals", response_class=HTMLResponse)
async def recordal_queue(request: Request) -> Response:
    if (redirect := signed_in_or_redirect(request, "officer")) is not None:
        return redirect
    return await _recordals_page(request, {})


@router.post("/officer/recordals/{licence_id}", response_class=HTMLResponse)
async def record(request: Request, licence_id: str, csrf_token: Annotated[str, Form()] = "",
                 version: Annotated[str, Form()] = "", reference: Annotated[str, Form()] = "") -> Response:
    """The officer records the filed licence (with the version the queue showed)."""
    if (redirect := signed_in_or_redirect(request, "officer")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    try:
        await act(request, "POST", f"/v1/licences/{licence_id}/recordal",
                  json={"status": "recorded", "reference": reference or None}, version=version)
    except ApiProblem as problem:
        found = errors_of(problem, formatter(request))
        return await _recordals_page(request, {licence_id: next(iter(found.values()))}, status=422)
    return RedirectResponse("/officer/recordals", status_code=303)
