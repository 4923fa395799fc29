"""Negotiations: a participant opens one from a listing's page with a first offer; the other side
counters, accepts or rejects; the side that made the current offer may withdraw it; an accepted offer
is signed (by either side; the second signature finds the deal the first one made). A signing the API
refuses because the licence would conflict with one the patent carries is shown on the signing form,
naming that licence."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.apis import ApiProblem
from portal.i18n import Formatter, yuan_to_fen
from portal.pages.common import (
    AMOUNT_HINT,
    apis,
    formatter,
    render,
    require_csrf,
    signed_in_or_redirect,
    split_list,
    token,
)
from portal.pages.dealing import act, conflict_of, errors_of, refusal
from portal.sessions import load

router = APIRouter()
OFFER_LABELS = {"deal_type": "Deal type", "fields_of_use": "Fields of use", "territories": "Territories",
                "term_start": "First day", "term_end": "Last day", "upfront_fee": "Upfront fee (yuan)",
                "royalty_rate_percent": "Royalty rate (%)", "valid_until": "Offer valid until"}
# China Standard Time: an offer dated in the form lapses at the end of that day in China.
END_OF_DAY = "T23:59:59+08:00"


def _terms(values: dict[str, str], fmt: Formatter) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's offer (terms and validity) from the form, and the form's own errors (amounts in yuan)."""
    errors: dict[str, str] = {}
    terms: dict[str, Any] = {"deal_type": values["deal_type"]}
    if values["fields_of_use"].strip():
        terms["fields_of_use"] = split_list(values["fields_of_use"])
    if values["territories"].strip():
        terms["territories"] = split_list(values["territories"])
    for name in ("term_start", "term_end"):
        if values[name].strip():
            terms[name] = values[name].strip()
    fee = yuan_to_fen(values["upfront_fee"]) if values["upfront_fee"].strip() else 0
    if fee is None:
        errors["upfront_fee"] = fmt.gettext(AMOUNT_HINT)
    terms["upfront_fee_fen"] = fee
    if values["royalty_rate_percent"].strip():
        terms["royalty_rate_percent"] = values["royalty_rate_percent"].strip()
    valid = values["valid_until"].strip()
    try:
        valid_until: str | None = date.fromisoformat(valid).isoformat() + END_OF_DAY if valid else None
    except ValueError:
        valid_until = None
        errors["valid_until"] = fmt.gettext("Enter a date.")
    return {"terms": terms, "valid_until": valid_until}, errors


def _offer_errors(problem: ApiProblem, fmt: Formatter) -> dict[str, str]:
    found = errors_of(problem, fmt, renames={"upfront_fee_fen": "upfront_fee"}, under="terms")
    if "terms" in found:  # a rule across the terms (e.g. a licence without a term)
        found[""] = found.pop("terms")
    return found


def _values(**form: str) -> dict[str, str]:
    return {name: form.get(name, "") for name in OFFER_LABELS}


def _values_of_offer(offer: dict[str, Any]) -> dict[str, str]:
    terms = offer["terms"]
    return {"deal_type": terms["deal_type"], "fields_of_use": ", ".join(terms.get("fields_of_use") or []),
            "territories": ", ".join(terms.get("territories") or []), "term_start": terms.get("term_start") or "",
            "term_end": terms.get("term_end") or "",
            "upfront_fee": f"{int(terms.get('upfront_fee_fen') or 0) / 100:.2f}",
            "royalty_rate_percent": str(terms.get("royalty_rate_percent") or "0"),
            "valid_until": str(offer.get("valid_until") or "")[:10]}


# --- Opening a negotiation from a listing -------------------------------------------------------------

async def _listing(request: Request, listing_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await apis(request).get("trading", f"/v1/listings/{listing_id}", token=await token(request))
    return found


@router.get("/listings/{listing_id}/negotiate", response_class=HTMLResponse)
async def offer_form(request: Request, listing_id: str) -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    listing = await _listing(request, listing_id)
    deal_types = listing.get("deal_types") or []
    values = _values(deal_type=deal_types[0] if deal_types else "", territories="CN", fields_of_use="*")
    return render(request, "negotiation_open.html", listing=listing, values=values, errors={}, labels=OFFER_LABELS)


@router.post("/listings/{listing_id}/negotiate", response_class=HTMLResponse)
async def open_negotiation(
    request: Request, listing_id: str, csrf_token: Annotated[str, Form()] = "",
    deal_type: Annotated[str, Form()] = "", fields_of_use: Annotated[str, Form()] = "",
    territories: Annotated[str, Form()] = "", term_start: Annotated[str, Form()] = "",
    term_end: Annotated[str, Form()] = "", upfront_fee: Annotated[str, Form()] = "",
    royalty_rate_percent: Annotated[str, Form()] = "", valid_until: Annotated[str, Form()] = "",
) -> Response:
    """The first offer: the signed-in user's organisation becomes the counterparty."""
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    fmt = formatter(request)
    values = _values(deal_type=deal_type, fields_of_use=fields_of_use, territories=territories, term_start=term_start,
                     term_end=term_end, upfront_fee=upfront_fee, royalty_rate_percent=royalty_rate_percent,
                     valid_until=valid_until)
    offer, errors = _terms(values, fmt)
    if not errors:
        try:
            opened = await act(request, "POST", "/v1/negotiations", json={"listing_id": listing_id, **offer})
            return RedirectResponse(f"/my/negotiations/{opened['id']}", status_code=303)
        except ApiProblem as problem:
            errors = _offer_errors(problem, fmt)
    listing = await _listing(request, listing_id)
    return render(request, "negotiation_open.html", status=422, listing=listing, values=values, errors=errors,
                  labels=OFFER_LABELS)


# --- The organisation's negotiations -------------------------------------------------------------------

@router.get("/my/negotiations", response_class=HTMLResponse)
async def my_negotiations(request: Request, cursor: str = "") -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    params: dict[str, Any] = {"limit": 50}
    if cursor:
        params["cursor"] = cursor
    page = await apis(request).get("trading", "/v1/negotiations", token=await token(request), params=params)
    return render(request, "my_negotiations.html", items=page["items"], next_cursor=page.get("next_cursor"))


async def _negotiation_page(request: Request, negotiation_id: str, *, errors: dict[str, str] | None = None,
                            values: dict[str, str] | None = None, conflict: dict[str, Any] | None = None,
                            status: int = 200) -> Response:
    try:
        negotiation = await apis(request).get("trading", f"/v1/negotiations/{negotiation_id}",
                                              token=await token(request))
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    current = negotiation["current_offer"]
    return render(request, "negotiation.html", status=status, negotiation=negotiation, errors=errors or {},
                  values=values or _values_of_offer(current), conflict=conflict, labels=OFFER_LABELS,
                  my_turn=current["made_by"] != negotiation["your_side"])


@router.get("/my/negotiations/{negotiation_id}", response_class=HTMLResponse)
async def negotiation_page(request: Request, negotiation_id: str) -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    return await _negotiation_page(request, negotiation_id)


@router.post("/my/negotiations/{negotiation_id}/counter", response_class=HTMLResponse)
async def counter_offer(
    request: Request, negotiation_id: str, csrf_token: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "", deal_type: Annotated[str, Form()] = "",
    fields_of_use: Annotated[str, Form()] = "", territories: Annotated[str, Form()] = "",
    term_start: Annotated[str, Form()] = "", term_end: Annotated[str, Form()] = "",
    upfront_fee: Annotated[str, Form()] = "", royalty_rate_percent: Annotated[str, Form()] = "",
    valid_until: Annotated[str, Form()] = "",
) -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    fmt = formatter(request)
    values = _values(deal_type=deal_type, fields_of_use=fields_of_use, territories=territories, term_start=term_start,
                     term_end=term_end, upfront_fee=upfront_fee, royalty_rate_percent=royalty_rate_percent,
                     valid_until=valid_until)
    offer, errors = _terms(values, fmt)
    if not errors:
        try:
            await act(request, "POST", f"/v1/negotiations/{negotiation_id}/offers", json=offer, version=version)
            return RedirectResponse(f"/my/negotiations/{negotiation_id}", status_code=303)
        except ApiProblem as problem:
            errors = _offer_errors(problem, fmt)
    return await _negotiation_page(request, negotiation_id, errors=errors, values=values, status=422)


ACTIONS = {"accept": "acceptance", "reject": "rejection", "withdraw": "withdrawal", "sign": "signature"}


@router.post("/my/negotiations/{negotiation_id}/{action}", response_class=HTMLResponse)
async def answer(request: Request, negotiation_id: str, action: str, csrf_token: Annotated[str, Form()] = "",
                 version: Annotated[str, Form()] = "", signed_on: Annotated[str, Form()] = "") -> Response:
    """Accept, reject or withdraw the current offer, or sign the accepted one (with the version the
    page was shown with: someone acting meanwhile makes the API refuse, and the page says so)."""
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    if action not in ACTIONS:
        return render(request, "not_found.html", status=404)
    fmt = formatter(request)
    body = {"signed_on": signed_on.strip()} if action == "sign" and signed_on.strip() else None
    try:
        answer = await act(request, "POST", f"/v1/negotiations/{negotiation_id}/{ACTIONS[action]}", json=body,
                           version=version)
    except ApiProblem as problem:
        conflict = conflict_of(problem)
        if conflict is not None:
            return await _negotiation_page(request, negotiation_id, conflict=conflict, status=409)
        errors = ({"signed_on": errors_of(problem, fmt).popitem()[1]} if problem.status == 422 and action == "sign"
                  else {"": refusal(problem, fmt)})
        return await _negotiation_page(request, negotiation_id, errors=errors, status=problem.status)
    if action == "sign" and answer.get("kind") == "licence":
        return RedirectResponse(f"/my/licences/{answer['id']}", status_code=303)
    if action == "sign":
        return RedirectResponse("/my/transfers", status_code=303)
    return RedirectResponse(f"/my/negotiations/{negotiation_id}", status_code=303)
