"""Pages anyone may see: home, listing search and a listing, a fair with its live statistics, the
credential check, and the language switch."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.apis import ApiProblem, field_errors, problem_message
from portal.i18n import LANGUAGES, region_choices, yuan_to_fen
from portal.pages.common import (
    AMOUNT_HINT,
    DEAL_TYPES,
    LANGUAGE_COOKIE,
    apis,
    formatter,
    is_htmx,
    language,
    render,
    safe_next,
    token,
)
from portal.pages.events_news import current_campaign
from portal.sessions import load

log = logging.getLogger(__name__)
router = APIRouter()
SORTS = ("newest", "oldest", "price_asc", "price_desc")

@router.get("/language")
async def switch_language(to: str, next: str = "/") -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if to in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, to, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


# --- Public pages ----------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    api = apis(request)
    fairs: list[dict[str, Any]] = []
    latest: list[dict[str, Any]] = []
    unavailable = False
    try:
        fairs = (await api.get("trading", "/v1/fairs", params={"limit": 5}))["items"]
        latest = (await api.get("trading", "/v1/listings", params={"limit": 6, "sort": "newest"}))["items"]
    except (ApiProblem, OSError) as exc:
        log.warning("home page: trading API unavailable: %s", exc)
        unavailable = True
    return render(request, "home.html", fairs=fairs, latest=latest, unavailable=unavailable,
                  campaign=await current_campaign(request))


@router.get("/listings", response_class=HTMLResponse)
async def search(request: Request, q: str = "", ipc: str = "", region: str = "",
                 deal_type: Annotated[list[str] | None, Query()] = None, price_min: str = "",
                 price_max: str = "", sort: str = "newest", cursor: str = "") -> HTMLResponse:
    fmt = formatter(request)
    chosen_deals = [d for d in (deal_type or []) if d in DEAL_TYPES]
    form = {"q": q.strip(), "ipc": ipc.strip().upper(), "region": region, "deal_type": chosen_deals,
            "price_min": price_min.strip(), "price_max": price_max.strip(), "sort": sort if sort in SORTS else "newest"}
    errors: dict[str, str] = {}
    params: dict[str, Any] = {"limit": 20, "sort": form["sort"]}
    for name in ("q", "ipc", "region"):
        if form[name]:
            params[name] = form[name]
    if chosen_deals:
        params["deal_type"] = chosen_deals
    for name in ("price_min", "price_max"):
        if form[name]:
            fen = yuan_to_fen(str(form[name]))
            if fen is None:
                errors[name] = fmt.gettext(AMOUNT_HINT)
            else:
                params[name] = fen
    if cursor:
        params["cursor"] = cursor
    items: list[dict[str, Any]] = []
    next_cursor = None
    if not errors:
        try:
            page = await apis(request).get("trading", "/v1/listings", params=params, token=await token(request))
            items, next_cursor = page["items"], page.get("next_cursor")
        except ApiProblem as problem:
            errors = field_errors(problem, fmt)
    query_without_cursor = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "cursor"])
    context: dict[str, Any] = {
        "form": form, "errors": errors, "items": items, "next_cursor": next_cursor, "cursor": cursor,
        "base_query": query_without_cursor, "deal_types": DEAL_TYPES, "sorts": SORTS,
        "regions": region_choices(language(request))}
    if is_htmx(request):
        return render(request, "_results.html", **context)
    return render(request, "search.html", **context)


@router.get("/listings/{listing_id}", response_class=HTMLResponse)
async def listing_page(request: Request, listing_id: str) -> HTMLResponse:
    try:
        listing = await apis(request).get("trading", f"/v1/listings/{listing_id}", token=await token(request))
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    session = load(request)
    mine = bool(session.org) and session.org == listing.get("owner_organisation_id")
    return render(request, "listing.html", listing=listing, mine=mine)


@router.get("/fairs/{fair_id}", response_class=HTMLResponse)
async def fair_page(request: Request, fair_id: str) -> HTMLResponse:
    api = apis(request)
    try:
        fair = await api.get("trading", f"/v1/fairs/{fair_id}")
        statistics = await api.get("trading", f"/v1/fairs/{fair_id}/statistics")
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    if is_htmx(request):
        return render(request, "_fair_statistics.html", fair=fair, statistics=statistics)
    return render(request, "fair.html", fair=fair, statistics=statistics)


@router.get("/check", response_class=HTMLResponse)
async def credential_check(request: Request, kind: str = "registration", number: str = "") -> HTMLResponse:
    """The public check of a talent's registration or a certificate (the registry's public answers)."""
    fmt = formatter(request)
    number = number.strip()
    result: dict[str, Any] | None = None
    errors: dict[str, str] = {}
    if number:
        path = (f"/v1/public/certificates/{number}" if kind == "certificate"
                else f"/v1/public/talents/{number}")
        try:
            result = await apis(request).get("registry", path)
        except ApiProblem as problem:
            if problem.status == 404:
                errors["number"] = fmt.gettext("No record has this number.")
            else:
                errors["number"] = problem_message(problem, fmt)
    return render(request, "check.html", kind=kind if kind in ("registration", "certificate") else "registration",
                  number=number, result=result, errors=errors)


