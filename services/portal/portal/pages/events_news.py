"""Public publicity pages: the events calendar with registration (no account: the registrant keeps the
link to its registration, where it can give up its places), news and press releases (published ones,
withdrawn ones with their notice), the feeds passed through from the publicity API, and the current
campaign shown on the home page."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.apis import ApiProblem
from portal.pages.common import apis, formatter, render, require_csrf
from portal.pages.forms import refusal
from portal.sessions import load

log = logging.getLogger(__name__)
router = APIRouter()
REGISTRATION_LABELS = {"name": "Name", "email": "Email", "phone": "Phone", "places": "Places"}
FEEDS = {"news.atom": "application/atom+xml", "news.json": "application/feed+json",
         "events.ics": "text/calendar; charset=utf-8"}


async def current_campaign(request: Request) -> dict[str, Any] | None:
    """The open campaign (the first, if several), for the home page; None when none is open or the
    publicity API cannot answer (the home page still shows the rest)."""
    try:
        page = await apis(request).get("publicity", "/v1/campaigns", params={"status": "open", "limit": 1})
    except (ApiProblem, OSError) as exc:
        log.warning("home page: publicity API unavailable: %s", exc)
        return None
    items: list[dict[str, Any]] = page["items"]
    return items[0] if items else None


# --- Events -------------------------------------------------------------------------------------------

@router.get("/events", response_class=HTMLResponse)
async def events(request: Request, cursor: str = "") -> HTMLResponse:
    params: dict[str, Any] = {"limit": 50}
    if cursor:
        params["cursor"] = cursor
    page = await apis(request).get("publicity", "/v1/events", params=params)
    return render(request, "events.html", items=page["items"], next_cursor=page.get("next_cursor"))


async def _event_page(request: Request, event_id: str, values: dict[str, Any] | None = None,
                      errors: dict[str, str] | None = None) -> HTMLResponse:
    try:
        event = await apis(request).get("publicity", f"/v1/events/{event_id}")
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    return render(request, "event.html", status=422 if errors else 200, event=event,
                  values=values or {"places": "1"}, errors=errors or {}, labels=REGISTRATION_LABELS)


@router.get("/events/{event_id}", response_class=HTMLResponse)
async def event_page(request: Request, event_id: str) -> HTMLResponse:
    return await _event_page(request, event_id)


@router.post("/events/{event_id}/registrations", response_class=HTMLResponse)
async def register(request: Request, event_id: str, csrf_token: Annotated[str, Form()] = "",
                   name: Annotated[str, Form()] = "", email: Annotated[str, Form()] = "",
                   phone: Annotated[str, Form()] = "", places: Annotated[str, Form()] = "1") -> Response:
    """Register without an account; the answer's page is the registrant's own (keep its address)."""
    require_csrf(load(request), csrf_token)
    values = {"name": name, "email": email, "phone": phone, "places": places}
    body: dict[str, Any] = {"name": name, "email": email, "places": int(places) if places.strip().isdigit() else places}
    if phone.strip():
        body["phone"] = phone
    try:
        response = await apis(request).call("publicity", "POST", f"/v1/events/{event_id}/registrations", json=body)
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        return await _event_page(request, event_id, values, refusal(problem, formatter(request)))
    return RedirectResponse(f"/registrations/{response.json()['id']}", status_code=303)


@router.get("/registrations/{registration_id}", response_class=HTMLResponse)
async def registration_page(request: Request, registration_id: str) -> HTMLResponse:
    """The registrant's page (its address is the key): state, waitlist position, ticket, give up."""
    api = apis(request)
    try:
        registration = await api.get("publicity", f"/v1/public/registrations/{registration_id}")
        event = await api.get("publicity", f"/v1/events/{registration['event_id']}")
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    return render(request, "registration.html", registration=registration, event=event)


@router.post("/registrations/{registration_id}/cancellation", response_class=HTMLResponse)
async def give_up(request: Request, registration_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    require_csrf(load(request), csrf_token)
    try:
        await apis(request).call("publicity", "POST", f"/v1/public/registrations/{registration_id}/cancellation")
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    return RedirectResponse(f"/registrations/{registration_id}", status_code=303)


# --- News and press releases --------------------------------------------------------------------------

@router.get("/news", response_class=HTMLResponse)
async def news(request: Request) -> HTMLResponse:
    page = await apis(request).get("publicity", "/v1/public/releases", params={"limit": 50})
    return render(request, "news.html", items=page["items"])


@router.get("/news/{release_id}", response_class=HTMLResponse)
async def news_item(request: Request, release_id: str) -> HTMLResponse:
    try:
        release = await apis(request).get("publicity", f"/v1/public/releases/{release_id}")
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    return render(request, "news_item.html", release=release)


@router.get("/feeds/{name}")
async def feed(request: Request, name: str) -> Response:
    """The publicity API's feeds under the portal's address (the API is not reachable from outside),
    passed through with their validators so conditional requests still answer 304."""
    if name not in FEEDS:
        return render(request, "not_found.html", status=404)
    headers = {"Accept": FEEDS[name].split(";")[0]}
    if (etag := request.headers.get("if-none-match")) is not None:
        headers["If-None-Match"] = etag
    answer = await apis(request).call("publicity", "GET", f"/v1/feeds/{name}", headers=headers)
    passed = {k: v for k, v in answer.headers.items() if k.lower() in ("etag", "cache-control", "last-modified")}
    if answer.status_code == 304:
        return Response(status_code=304, headers=passed)
    return Response(answer.content, media_type=answer.headers.get("content-type", FEEDS[name]), headers=passed)
