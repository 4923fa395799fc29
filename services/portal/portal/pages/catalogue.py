"""A participant's catalogue: the organisation's listings (create, edit, publish, withdraw), its
technology needs and the matchmaker's suggestions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.apis import ApiProblem, field_errors, problem_message
from portal.i18n import yuan_to_fen
from portal.pages.common import (
    AMOUNT_HINT,
    DEAL_TYPES,
    apis,
    formatter,
    if_match,
    render,
    require_csrf,
    signed_in_or_redirect,
    split_list,
    token,
)
from portal.sessions import load

router = APIRouter()
INDUSTRIES = ("equipment_manufacturing", "new_materials", "new_energy", "electronics_information", "biomedicine",
              "petrochemicals", "agriculture_food", "energy_saving_environment", "other")
PATENT_KINDS = ("invention", "utility_model", "design")

@router.get("/my/listings", response_class=HTMLResponse)
async def my_listings(request: Request) -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    page = await apis(request).get("trading", "/v1/listings/mine", token=await token(request))
    return render(request, "my_listings.html", items=page["items"])


NEED_LABELS = {"title": "Title", "description": "Description", "keywords": "Keywords", "ipc_codes": "IPC classes",
               "region_code": "Region code", "deal_types": "Deal types", "budget": "Budget (yuan)"}


@router.get("/my/needs", response_class=HTMLResponse)
async def my_needs(request: Request) -> Response:
    """The organisation's technology needs, and a form to post one (matchmaking starts at once)."""
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    page = await apis(request).get("trading", "/v1/demands", token=await token(request))
    return render(request, "my_needs.html", items=page["items"], values={"deal_types": []}, errors={},
                  deal_types=DEAL_TYPES, labels=NEED_LABELS)


@router.post("/my/needs", response_class=HTMLResponse)
async def post_need(
    request: Request, csrf_token: Annotated[str, Form()] = "", title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "", keywords: Annotated[str, Form()] = "",
    ipc_codes: Annotated[str, Form()] = "", region_code: Annotated[str, Form()] = "",
    deal_types: Annotated[list[str] | None, Form()] = None, budget: Annotated[str, Form()] = "",
) -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    fmt = formatter(request)
    values: dict[str, Any] = {"title": title, "description": description, "keywords": keywords,
                              "ipc_codes": ipc_codes, "region_code": region_code, "deal_types": deal_types or [],
                              "budget": budget}
    body: dict[str, Any] = {"title": title, "description": description, "keywords": split_list(keywords),
                            "ipc_codes": split_list(ipc_codes), "region_code": region_code or None,
                            "deal_types": deal_types or None}
    errors: dict[str, str] = {}
    if budget.strip():
        body["budget_max_fen"] = yuan_to_fen(budget)
        if body["budget_max_fen"] is None:
            errors["budget"] = fmt.gettext(AMOUNT_HINT)
    if not errors:
        try:
            await apis(request).call("trading", "POST", "/v1/demands", token=await token(request), json=body)
            return RedirectResponse("/my/needs", status_code=303)
        except ApiProblem as problem:
            errors = field_errors(problem, fmt)
            if "budget_max_fen" in errors:
                errors["budget"] = errors.pop("budget_max_fen")
    page = await apis(request).get("trading", "/v1/demands", token=await token(request))
    return render(request, "my_needs.html", status=422, items=page["items"], values=values, errors=errors,
                  deal_types=DEAL_TYPES, labels=NEED_LABELS)


@router.get("/my/matches", response_class=HTMLResponse)
async def my_matches(request: Request) -> Response:
    """Match suggestions the matchmaker made for the organisation's listings and needs."""
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    page = await apis(request).get("trading", "/v1/matches", token=await token(request))
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
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
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
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    session = load(request)
    require_csrf(session, csrf_token)
    fmt = formatter(request)
    values: dict[str, Any] = {"application_number": application_number, "filing_date": filing_date, "title": title,
                              "abstract": abstract,
                              "patent_kind": patent_kind, "industry": industry, "region_code": region_code,
                              "legal_status": legal_status, "expires_on": expires_on, "ipc_codes": ipc_codes,
                              "deal_types": deal_types or [], "price": price}
    errors: dict[str, str] = {}
    body: dict[str, Any] = {k: v for k, v in values.items() if k not in ("price", "ipc_codes") and v not in ("", [])}
    body["deal_types"] = deal_types or []
    body["ipc_codes"] = split_list(ipc_codes)
    if price.strip():
        fen = yuan_to_fen(price)
        if fen is None:
            errors["price"] = fmt.gettext(AMOUNT_HINT)
        body["price_fen"] = fen
    if not errors:
        try:
            response = await apis(request).call("trading", "POST", "/v1/listings", token=await token(request),
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
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    listing = await apis(request).get("trading", f"/v1/listings/{listing_id}", token=await token(request))
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
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    fmt = formatter(request)
    values: dict[str, Any] = {"title": title, "abstract": abstract, "industry": industry, "region_code": region_code,
                              "legal_status": legal_status, "expires_on": expires_on, "ipc_codes": ipc_codes,
                              "deal_types": deal_types or [], "price": price, "version": version}
    errors: dict[str, str] = {}
    body: dict[str, Any] = {k: v for k, v in values.items()
                            if k not in ("price", "ipc_codes", "version", "deal_types") and v != ""}
    body["abstract"] = abstract
    body["deal_types"] = deal_types or []
    body["ipc_codes"] = split_list(ipc_codes)
    fen = yuan_to_fen(price) if price.strip() else None
    if price.strip() and fen is None:
        errors["price"] = fmt.gettext(AMOUNT_HINT)
    body["price_fen"] = fen
    if not errors:
        try:
            await apis(request).call("trading", "PATCH", f"/v1/listings/{listing_id}", token=await token(request),
                                      json=body, headers=if_match(version))
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
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    paths = {"publish": "publication", "withdraw": "withdrawal"}
    if action not in paths:
        return render(request, "not_found.html", status=404)
    headers = if_match(version)
    try:
        await apis(request).call("trading", "POST", f"/v1/listings/{listing_id}/{paths[action]}",
                                  token=await token(request), headers=headers)
    except ApiProblem as problem:
        fmt = formatter(request)
        return render(request, "message.html", status=problem.status, message=problem_message(problem, fmt),
                      translated=True, back=f"/listings/{listing_id}")
    return RedirectResponse(f"/listings/{listing_id}", status_code=303)


