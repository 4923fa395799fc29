"""The pages. Each is one thing (GOV.UK style): it asks an API, renders a template in the user's
language, and shows an API's refusal beside the field it concerns. htmx only enhances: every link and
form works as plain HTML, and an htmx request gets the page's fragment instead of the whole page."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal.apis import ApiProblem, Apis, field_errors, problem_message
from portal.i18n import HTML_LANG, LANGUAGES, Formatter, pick_language, region_choices, yuan_to_fen
from portal.oidc import Oidc, SignInError
from portal.sessions import Session, load, save

log = logging.getLogger(__name__)
router = APIRouter()
LANGUAGE_COOKIE = "ipo_lang"

templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)

DEAL_TYPES = ("assignment", "exclusive_licence", "sole_licence", "ordinary_licence", "open_licence")
SORTS = ("newest", "oldest", "price_asc", "price_desc")
INDUSTRIES = ("equipment_manufacturing", "new_materials", "new_energy", "electronics_information", "biomedicine",
              "petrochemicals", "agriculture_food", "energy_saving_environment", "other")
PATENT_KINDS = ("invention", "utility_model", "design")


def _language(request: Request) -> str:
    return pick_language(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))


def _apis(request: Request) -> Apis:
    apis: Apis = request.app.state.apis
    return apis


def _oidc(request: Request) -> Oidc:
    oidc: Oidc = request.app.state.oidc
    return oidc


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _safe_next(target: str | None) -> str:
    """Only paths of this site (no scheme, no host): a sign-in or language switch never leads away."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    language = _language(request)
    fmt = Formatter(language)
    session = load(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    body = templates.get_template(template).render(
        _=fmt.gettext, fmt=fmt, lang=language, html_lang=HTML_LANG[language], languages=LANGUAGES,
        session=session, csrf=session.csrf, here=here, request=request, **context)
    response = HTMLResponse(body, status_code=status)
    save(request, response, session)
    return response


async def _token(request: Request) -> str | None:
    """The signed-in user's access token, refreshed when it has (nearly) expired."""
    session = load(request)
    if session.access_token is None:
        return None
    if session.expires_at - time.time() < 20 and not await _oidc(request).refresh(session):
        session.sign_out()
        return None
    return session.access_token


def _require_csrf(session: Session, submitted: str | None) -> None:
    if not session.csrf_ok(submitted):
        raise HTTPException(403, "The form has expired: go back, reload the page and try again.")


# --- Language and health of the pages -------------------------------------------------------------

@router.get("/language")
async def switch_language(to: str, next: str = "/") -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if to in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, to, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


# --- Public pages ----------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    apis = _apis(request)
    fairs: list[dict[str, Any]] = []
    latest: list[dict[str, Any]] = []
    unavailable = False
    try:
        fairs = (await apis.get("trading", "/v1/fairs", params={"limit": 5}))["items"]
        latest = (await apis.get("trading", "/v1/listings", params={"limit": 6, "sort": "newest"}))["items"]
    except (ApiProblem, OSError) as exc:
        log.warning("home page: trading API unavailable: %s", exc)
        unavailable = True
    return render(request, "home.html", fairs=fairs, latest=latest, unavailable=unavailable)


@router.get("/listings", response_class=HTMLResponse)
async def search(request: Request, q: str = "", ipc: str = "", region: str = "",
                 deal_type: Annotated[list[str] | None, Query()] = None, price_min: str = "",
                 price_max: str = "", sort: str = "newest", cursor: str = "") -> HTMLResponse:
    fmt = Formatter(_language(request))
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
                errors[name] = fmt.gettext("Enter an amount in yuan, e.g. 50000 or 12500.50.")
            else:
                params[name] = fen
    if cursor:
        params["cursor"] = cursor
    items: list[dict[str, Any]] = []
    next_cursor = None
    if not errors:
        try:
            page = await _apis(request).get("trading", "/v1/listings", params=params, token=await _token(request))
            items, next_cursor = page["items"], page.get("next_cursor")
        except ApiProblem as problem:
            errors = field_errors(problem, fmt)
    query_without_cursor = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "cursor"])
    context: dict[str, Any] = {
        "form": form, "errors": errors, "items": items, "next_cursor": next_cursor, "cursor": cursor,
        "base_query": query_without_cursor, "deal_types": DEAL_TYPES, "sorts": SORTS,
        "regions": region_choices(_language(request))}
    if _is_htmx(request):
        return render(request, "_results.html", **context)
    return render(request, "search.html", **context)


@router.get("/listings/{listing_id}", response_class=HTMLResponse)
async def listing_page(request: Request, listing_id: str) -> HTMLResponse:
    try:
        listing = await _apis(request).get("trading", f"/v1/listings/{listing_id}", token=await _token(request))
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    session = load(request)
    mine = bool(session.org) and session.org == listing.get("owner_organisation_id")
    return render(request, "listing.html", listing=listing, mine=mine)


@router.get("/fairs/{fair_id}", response_class=HTMLResponse)
async def fair_page(request: Request, fair_id: str) -> HTMLResponse:
    apis = _apis(request)
    try:
        fair = await apis.get("trading", f"/v1/fairs/{fair_id}")
        statistics = await apis.get("trading", f"/v1/fairs/{fair_id}/statistics")
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    if _is_htmx(request):
        return render(request, "_fair_statistics.html", fair=fair, statistics=statistics)
    return render(request, "fair.html", fair=fair, statistics=statistics)


@router.get("/check", response_class=HTMLResponse)
async def credential_check(request: Request, kind: str = "registration", number: str = "") -> HTMLResponse:
    """The public check of a talent's registration or a certificate (the registry's public answers)."""
    fmt = Formatter(_language(request))
    number = number.strip()
    result: dict[str, Any] | None = None
    errors: dict[str, str] = {}
    if number:
        path = (f"/v1/public/certificates/{number}" if kind == "certificate"
                else f"/v1/public/talents/{number}")
        try:
            result = await _apis(request).get("registry", path)
        except ApiProblem as problem:
            if problem.status == 404:
                errors["number"] = fmt.gettext("No record has this number.")
            else:
                errors["number"] = problem_message(problem, fmt)
    return render(request, "check.html", kind=kind if kind in ("registration", "certificate") else "registration",
                  number=number, result=result, errors=errors)


# --- Sign-in ---------------------------------------------------------------------------------------

@router.get("/auth/login")
async def sign_in(request: Request, next: str = "/") -> Response:
    oidc = _oidc(request)
    if not oidc.configured:
        return render(request, "message.html", status=503, message="Sign-in is not configured here.")
    session = load(request)
    url = await oidc.begin(session, _safe_next(next), "zh-CN" if _language(request) == "zh" else "en")
    response = RedirectResponse(url, status_code=303)
    save(request, response, session)
    return response


@router.get("/auth/callback")
async def sign_in_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    session = load(request)
    if error or not code:
        return render(request, "message.html", status=400, message="The sign-in was cancelled or refused.")
    try:
        return_to = await _oidc(request).complete(session, code, state)
    except (SignInError, ApiProblem, OSError) as exc:
        log.warning("sign-in failed: %s", exc)
        return render(request, "message.html", status=400, message="The sign-in could not be completed.")
    except Exception as exc:  # the token endpoint's or verifier's refusals
        log.warning("sign-in failed: %s", exc)
        return render(request, "message.html", status=400, message="The sign-in could not be completed.")
    response = RedirectResponse(_safe_next(return_to), status_code=303)
    save(request, response, session)
    return response


@router.post("/auth/logout")
async def sign_out(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    session = load(request)
    _require_csrf(session, csrf_token)
    try:
        await _oidc(request).end_session(session)
    except OSError as exc:
        log.warning("could not end the Keycloak session: %s", exc)
    session.sign_out()
    response = RedirectResponse("/", status_code=303)
    save(request, response, session)
    return response


# --- Participant: my organisation's listings -------------------------------------------------------

def _signed_in_or_redirect(request: Request, *roles: str) -> Response | None:
    session = load(request)
    if not session.signed_in and not session.refresh_token:
        return RedirectResponse("/auth/login?" + urlencode({"next": request.url.path}), status_code=303)
    if roles and not session.has_role(*roles):
        return render(request, "message.html", status=403, message="Your role does not give access to this page.")
    return None


@router.get("/my/listings", response_class=HTMLResponse)
async def my_listings(request: Request) -> Response:
    if (redirect := _signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    page = await _apis(request).get("trading", "/v1/listings/mine", token=await _token(request))
    return render(request, "my_listings.html", items=page["items"])


NEED_LABELS = {"title": "Title", "description": "Description", "keywords": "Keywords", "ipc_codes": "IPC classes",
               "region_code": "Region code", "deal_types": "Deal types", "budget": "Budget (yuan)"}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\uff0c", ",").split(",") if part.strip()]


@router.get("/my/needs", response_class=HTMLResponse)
async def my_needs(request: Request) -> Response:
    """The organisation's technology needs, and a form to post one (matchmaking starts at once)."""
    if (redirect := _signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    page = await _apis(request).get("trading", "/v1/demands", token=await _token(request))
    return render(request, "my_needs.html", items=page["items"], values={"deal_types": []}, errors={},
                  deal_types=DEAL_TYPES, labels=NEED_LABELS)


@router.post("/my/needs", response_class=HTMLResponse)
async def post_need(
    request: Request, csrf_token: Annotated[str, Form()] = "", title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "", keywords: Annotated[str, Form()] = "",
    ipc_codes: Annotated[str, Form()] = "", region_code: Annotated[str, Form()] = "",
    deal_types: Annotated[list[str] | None, Form()] = None, budget: Annotated[str, Form()] = "",
) -> Response:
    if (redirect := _signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    _require_csrf(load(request), csrf_token)
    fmt = Formatter(_language(request))
    values: dict[str, Any] = {"title": title, "description": description, "keywords": keywords,
                              "ipc_codes": ipc_codes, "region_code": region_code, "deal_types": deal_types or [],
                              "budget": budget}
    body: dict[str, Any] = {"title": title, "description": description, "keywords": _split(keywords),
                            "ipc_codes": _split(ipc_codes), "region_code": region_code or None,
                            "deal_types": deal_types or None}
    errors: dict[str, str] = {}
    if budget.strip():
        body["budget_max_fen"] = yuan_to_fen(budget)
        if body["budget_max_fen"] is None:
            errors["budget"] = fmt.gettext("Enter an amount in yuan, e.g. 50000 or 12500.50.")
    if not errors:
        try:
            await _apis(request).call("trading", "POST", "/v1/demands", token=await _token(request), json=body)
            return RedirectResponse("/my/needs", status_code=303)
        except ApiProblem as problem:
            errors = field_errors(problem, fmt)
            if "budget_max_fen" in errors:
                errors["budget"] = errors.pop("budget_max_fen")
    page = await _apis(request).get("trading", "/v1/demands", token=await _token(request))
    return render(request, "my_needs.html", status=422, items=page["items"], values=values, errors=errors,
                  deal_types=DEAL_TYPES, labels=NEED_LABELS)


@router.get("/my/matches", response_class=HTMLResponse)
async def my_matches(request: Request) -> Response:
    """Match suggestions the matchmaker made for the organisation's listings and needs."""
    if (redirect := _signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    page = await _apis(request).get("trading", "/v1/matches", token=await _token(request))
    return render(request, "my_matches.html", items=page["items"])


def _listing_form_context(values: dict[str, Any], errors: dict[str, str], editing: bool = False) -> dict[str, Any]:
    return {"values": values, "errors": errors, "deal_types": DEAL_TYPES, "industries": INDUSTRIES,
            "editing": editing,
            "patent_kinds": PATENT_KINDS, "labels": LISTING_LABELS}


STALE_LISTING = "Someone changed this listing meanwhile: reload it and make your change again."
# The form's fields by name, for the error summary (the catalogs translate them).
LISTING_LABELS = {
    "application_number": "Application number", "filing_date": "Filing date", "title": "Title",
    "abstract": "Abstract", "patent_kind": "Kind",
    "legal_status": "Legal status", "industry": "Industry", "region_code": "Region code",
    "expires_on": "Patent right ends", "ipc_codes": "IPC classes", "deal_types": "Deal types",
    "price": "Price (yuan)",
}


@router.get("/my/listings/new", response_class=HTMLResponse)
async def new_listing(request: Request) -> Response:
    if (redirect := _signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    return render(request, "listing_form.html", **_listing_form_context({"deal_types": []}, {}))


@router.post("/my/listings/new", response_class=HTMLResponse)
async def create_listing(
    request: Request, csrf_token: Annotated[str, Form()] = "", application_number: Annotated[str, Form()] = "",
    filing_date: Annotated[str, Form()] = "", title: Annotated[str, Form()] = "", abstract: Annotated[str, Form()] = "",
    patent_kind: Annotated[str, Form()] = "", industry: Annotated[str, Form()] = "",
    region_code: Annotated[str, Form()] = "", legal_status: Annotated[str, Form()] = "",
    expires_on: Annotated[str, Form()] = "", ipc_codes: Annotated[str, Form()] = "",
    deal_types: Annotated[list[str] | None, Form()] = None, price: Annotated[str, Form()] = "",
) -> Response:
    if (redirect := _signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    session = load(request)
    _require_csrf(session, csrf_token)
    fmt = Formatter(_language(request))
    values: dict[str, Any] = {"application_number": application_number, "filing_date": filing_date, "title": title,
                              "abstract": abstract,
                              "patent_kind": patent_kind, "industry": industry, "region_code": region_code,
                              "legal_status": legal_status, "expires_on": expires_on, "ipc_codes": ipc_codes,
                              "deal_types": deal_types or [], "price": price}
    errors: dict[str, str] = {}
    body: dict[str, Any] = {k: v for k, v in values.items() if k not in ("price", "ipc_codes") and v not in ("", [])}
    body["deal_types"] = deal_types or []
    body["ipc_codes"] = [c.strip() for c in ipc_codes.replace("\uff0c", ",").split(",") if c.strip()]
    if price.strip():
        fen = yuan_to_fen(price)
        if fen is None:
            errors["price"] = fmt.gettext("Enter an amount in yuan, e.g. 50000 or 12500.50.")
        body["price_fen"] = fen
    if not errors:
        try:
            response = await _apis(request).call("trading", "POST", "/v1/listings", token=await _token(request),
                                                 json=body)
            return RedirectResponse(f"/listings/{response.json()['id']}", status_code=303)
        except ApiProblem as problem:
            errors = field_errors(problem, fmt)
            if "price_fen" in errors:
                errors["price"] = errors.pop("price_fen")
    return render(request, "listing_form.html", status=422, **_listing_form_context(values, errors))


def _listing_values(listing: dict[str, Any]) -> dict[str, Any]:
    price = listing.get("price_fen")
    return {**{k: listing.get(k) or "" for k in ("application_number", "title", "abstract", "patent_kind", "industry",
                                                  "region_code", "legal_status", "expires_on")},
            "ipc_codes": ", ".join(listing.get("ipc_codes") or []), "deal_types": listing.get("deal_types") or [],
            "price": "" if price is None else f"{price / 100:.2f}", "version": listing.get("version")}


@router.get("/my/listings/{listing_id}/edit", response_class=HTMLResponse)
async def edit_listing(request: Request, listing_id: str) -> Response:
    if (redirect := _signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    listing = await _apis(request).get("trading", f"/v1/listings/{listing_id}", token=await _token(request))
    return render(request, "listing_form.html", listing_id=listing_id,
                  **_listing_form_context(_listing_values(listing), {}, editing=True))


@router.post("/my/listings/{listing_id}/edit", response_class=HTMLResponse)
async def update_listing(
    request: Request, listing_id: str, csrf_token: Annotated[str, Form()] = "", version: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "", abstract: Annotated[str, Form()] = "", industry: Annotated[str, Form()] = "",
    region_code: Annotated[str, Form()] = "", legal_status: Annotated[str, Form()] = "",
    expires_on: Annotated[str, Form()] = "", ipc_codes: Annotated[str, Form()] = "",
    deal_types: Annotated[list[str] | None, Form()] = None, price: Annotated[str, Form()] = "",
) -> Response:
    """Change a listing (PATCH with the version the form was shown with: a change made meanwhile is
    refused by the API, and the form says so)."""
    if (redirect := _signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    _require_csrf(load(request), csrf_token)
    fmt = Formatter(_language(request))
    values: dict[str, Any] = {"title": title, "abstract": abstract, "industry": industry, "region_code": region_code,
                              "legal_status": legal_status, "expires_on": expires_on, "ipc_codes": ipc_codes,
                              "deal_types": deal_types or [], "price": price, "version": version}
    errors: dict[str, str] = {}
    body: dict[str, Any] = {k: v for k, v in values.items()
                            if k not in ("price", "ipc_codes", "version", "deal_types") and v != ""}
    body["abstract"] = abstract
    body["deal_types"] = deal_types or []
    body["ipc_codes"] = [c.strip() for c in ipc_codes.replace("\uff0c", ",").split(",") if c.strip()]
    fen = yuan_to_fen(price) if price.strip() else None
    if price.strip() and fen is None:
        errors["price"] = fmt.gettext("Enter an amount in yuan, e.g. 50000 or 12500.50.")
    body["price_fen"] = fen
    if not errors:
        try:
            await _apis(request).call("trading", "PATCH", f"/v1/listings/{listing_id}", token=await _token(request),
                                      json=body, headers={"If-Match": f'"{version}"'} if version.isdigit() else {})
            return RedirectResponse(f"/listings/{listing_id}", status_code=303)
        except ApiProblem as problem:
            if problem.status == 412:
                errors = {"": fmt.gettext(STALE_LISTING)}
            else:
                errors = field_errors(problem, fmt)
                if "price_fen" in errors:
                    errors["price"] = errors.pop("price_fen")
    return render(request, "listing_form.html", status=422 if errors else 200, listing_id=listing_id,
                  **_listing_form_context(values, errors, editing=True))


@router.post("/my/listings/{listing_id}/{action}", response_class=HTMLResponse)
async def change_listing(request: Request, listing_id: str, action: str,
                         csrf_token: Annotated[str, Form()] = "", version: Annotated[str, Form()] = "") -> Response:
    """Publish or withdraw one of the organisation's listings (the API decides whether it may)."""
    if (redirect := _signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    _require_csrf(load(request), csrf_token)
    paths = {"publish": "publication", "withdraw": "withdrawal"}
    if action not in paths:
        return render(request, "not_found.html", status=404)
    headers = {"If-Match": f'"{version}"'} if version.isdigit() else {}
    try:
        await _apis(request).call("trading", "POST", f"/v1/listings/{listing_id}/{paths[action]}",
                                  token=await _token(request), headers=headers)
    except ApiProblem as problem:
        fmt = Formatter(_language(request))
        return render(request, "message.html", status=problem.status, message=problem_message(problem, fmt),
                      translated=True, back=f"/listings/{listing_id}")
    return RedirectResponse(f"/listings/{listing_id}", status_code=303)


# --- Errors ----------------------------------------------------------------------------------------

def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return render(request, "not_found.html", status=404)
        return render(request, "message.html", status=exc.status_code, message=str(exc.detail))

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> Response:
        fmt = Formatter(_language(request))
        if exc.status == 401:
            load(request).sign_out()
            return RedirectResponse("/auth/login?" + urlencode({"next": request.url.path}), status_code=303)
        status = exc.status if exc.status in (403, 404, 409, 503) else 502
        return render(request, "message.html", status=status, message=problem_message(exc, fmt), translated=True)
