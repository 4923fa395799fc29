"""Transfers (assignments): the organisation's transfers, as assignor, assignee or agent (a signed
assignment becomes an application an officer registers; participants only follow it), and the
officer's queue of applications to register."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.apis import ApiProblem
from portal.pages.common import apis, formatter, render, require_csrf, signed_in_or_redirect, token
from portal.pages.dealing import act, errors_of
from portal.sessions import load

router = APIRouter()


@router.get("/my/transfers", response_class=HTMLResponse)
async def my_transfers(request: Request, cursor: str = "") -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    params: dict[str, Any] = {"limit": 50}
    if cursor:
        params["cursor"] = cursor
    page = await apis(request).get("trading", "/v1/transfers", token=await token(request), params=params)
    return render(request, "transfers.html", items=page["items"], next_cursor=page.get("next_cursor"),
                  officer=False, errors={})


async def _queue(request: Request, errors: dict[str, str], status: int = 200) -> Response:
    page = await apis(request).get("trading", "/v1/transfers", token=await token(request),
                                   params={"status": "applied", "limit": 100})
    return render(request, "transfers.html", status=status, items=page["items"], next_cursor=None, officer=True,
                  errors=errors)


@router.get("/officer/transfers", response_class=HTMLResponse)
async def transfer_queue(request: Request) -> Response:
    if (redirect := signed_in_or_redirect(request, "officer")) is not None:
        return redirect
    return await _queue(request, {})


@router.post("/officer/transfers/{transfer_id}", response_class=HTMLResponse)
async def register_transfer(request: Request, transfer_id: str, csrf_token: Annotated[str, Form()] = "",
                            version: Annotated[str, Form()] = "", reference: Annotated[str, Form()] = "") -> Response:
    """Register the assignment: it takes effect (refused while the patent is pledged)."""
    if (redirect := signed_in_or_redirect(request, "officer")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    try:
        await act(request, "POST", f"/v1/transfers/{transfer_id}/registration",
                  json={"reference": reference or None}, version=version)
    except ApiProblem as problem:
        found = errors_of(problem, formatter(request))
        return await _queue(request, {transfer_id: next(iter(found.values()))}, status=422)
    return RedirectResponse("/officer/transfers", status_code=303)
