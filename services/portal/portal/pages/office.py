"""The officer's non-trading queues: press releases and news (the two-person rule is the API's: the
officer who submitted an edition cannot schedule or publish it, and the page shows the API's refusal),
news drafted from milestones awaiting review, certification evaluations, campaign activities submitted
by units (accept, or return with a reason), and the plan targets' progress."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.apis import ApiProblem
from portal.pages.common import apis, formatter, if_match, render, require_csrf, signed_in_or_redirect, token
from portal.pages.forms import lines, local_to_aware, refusal
from portal.sessions import load

router = APIRouter(prefix="/officer")
RELEASE_STATES = ("submitted", "draft", "rejected", "scheduled", "published", "withdrawn")
RELEASE_LABELS = {"title": "Title", "summary": "Summary", "body": "Text", "title_en": "Title in English",
                  "summary_en": "Summary in English", "body_en": "Text in English", "kind": "Kind",
                  "reason": "Reason", "explanation": "Explanation for the public", "publish_at": "Publish at",
                  "change_note": "What the new edition changes"}
EVALUATION_STATES = ("applied", "under_review", "granted", "refused")
ACTIVITY_STATES = ("submitted", "returned", "accepted")


def _officer(request: Request) -> Response | None:
    return signed_in_or_redirect(request, "officer")


async def _call(request: Request, service: str, path: str, *, json: Any = None, version: str = "",
                method: str = "POST") -> dict[str, str]:
    """Run an action as the officer; {} when done, else the API's refusal by field."""
    try:
        await apis(request).call(service, method, path, token=await token(request), json=json,
                                 headers=if_match(version))
    except ApiProblem as problem:
        return refusal(problem, formatter(request))
    return {}


# --- Press releases and news --------------------------------------------------------------------------

@router.get("/releases", response_class=HTMLResponse)
async def releases(request: Request, state: str = "submitted") -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    state = state if state in RELEASE_STATES else "submitted"
    page = await apis(request).get("publicity", "/v1/releases", token=await token(request),
                                   params={"state": state, "limit": 50})
    return render(request, "office_releases.html", items=page["items"], state=state, states=RELEASE_STATES)


@router.get("/milestone-drafts", response_class=HTMLResponse)
async def milestone_drafts(request: Request) -> Response:
    """News the platform drafted from milestones (deals, certifications), waiting for an officer."""
    if (redirect := _officer(request)) is not None:
        return redirect
    page = await apis(request).get("publicity", "/v1/releases", token=await token(request),
                                   params={"state": "draft", "kind": "news", "limit": 100})
    items = [r for r in page["items"] if r.get("origin") == "milestone"]
    return render(request, "office_milestone_drafts.html", items=items)


def _content(title: str, summary: str, body: str, title_en: str, summary_en: str, body_en: str) -> dict[str, Any]:
    content: dict[str, Any] = {"title": title, "summary": summary, "body": body}
    for name, value in (("title_en", title_en), ("summary_en", summary_en), ("body_en", body_en)):
        if value.strip():
            content[name] = value
    return content


@router.get("/releases/new", response_class=HTMLResponse)
async def new_release(request: Request) -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    return render(request, "office_release_form.html", values={"kind": "press_release"}, errors={},
                  labels=RELEASE_LABELS)


@router.post("/releases/new", response_class=HTMLResponse)
async def draft_release(
    request: Request, csrf_token: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "press_release",
    title: Annotated[str, Form()] = "", summary: Annotated[str, Form()] = "", body: Annotated[str, Form()] = "",
    title_en: Annotated[str, Form()] = "", summary_en: Annotated[str, Form()] = "",
    body_en: Annotated[str, Form()] = "",
) -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    values = {"kind": kind, "title": title, "summary": summary, "body": body, "title_en": title_en,
              "summary_en": summary_en, "body_en": body_en}
    try:
        response = await apis(request).call(
            "publicity", "POST", "/v1/releases", token=await token(request),
            json={"kind": kind, **_content(title, summary, body, title_en, summary_en, body_en)})
    except ApiProblem as problem:
        return render(request, "office_release_form.html", status=422, values=values,
                      errors=refusal(problem, formatter(request)), labels=RELEASE_LABELS)
    return RedirectResponse(f"/officer/releases/{response.json()['id']}", status_code=303)


async def _release_page(request: Request, release_id: str, errors: dict[str, str] | None = None,
                        values: dict[str, Any] | None = None) -> Response:
    try:
        release = await apis(request).get("publicity", f"/v1/releases/{release_id}", token=await token(request))
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    shown = values or dict(release["content"])
    return render(request, "office_release.html", status=422 if errors else 200, release=release,
                  values=shown, errors=errors or {}, labels=RELEASE_LABELS)


@router.get("/releases/{release_id}", response_class=HTMLResponse)
async def release_page(request: Request, release_id: str) -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    return await _release_page(request, release_id)


@router.post("/releases/{release_id}/content", response_class=HTMLResponse)
async def edit_release(
    request: Request, release_id: str, csrf_token: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "", title: Annotated[str, Form()] = "", summary: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "", title_en: Annotated[str, Form()] = "",
    summary_en: Annotated[str, Form()] = "", body_en: Annotated[str, Form()] = "",
) -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    content = _content(title, summary, body, title_en, summary_en, body_en)
    errors = await _call(request, "publicity", f"/v1/releases/{release_id}/content", json=content,
                         version=version, method="PUT")
    if errors:
        return await _release_page(request, release_id, errors,
                                   {"title": title, "summary": summary, "body": body, "title_en": title_en,
                                    "summary_en": summary_en, "body_en": body_en})
    return RedirectResponse(f"/officer/releases/{release_id}", status_code=303)


# Actions on a release: the API path and which form field (if any) goes into its body.
RELEASE_ACTIONS = {"submit": ("submission", None), "publish": ("publication", None),
                   "schedule": ("scheduling", "publish_at"), "unschedule": ("unscheduling", None),
                   "reject": ("rejection", "reason"), "withdraw": ("withdrawal", "explanation"),
                   "new-edition": ("editions", "change_note")}


@router.post("/releases/{release_id}/{action}", response_class=HTMLResponse)
async def act_on_release(
    request: Request, release_id: str, action: str, csrf_token: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
    explanation: Annotated[str, Form()] = "", publish_at: Annotated[str, Form()] = "",
    change_note: Annotated[str, Form()] = "",
) -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    if action not in RELEASE_ACTIONS:
        return render(request, "not_found.html", status=404)
    path, field = RELEASE_ACTIONS[action]
    body: dict[str, Any] | None = None
    if field == "publish_at":
        body = {"publish_at": local_to_aware(publish_at)}
    elif field is not None:
        body = {field: {"reason": reason, "explanation": explanation, "change_note": change_note}[field]}
    errors = await _call(request, "publicity", f"/v1/releases/{release_id}/{path}", json=body, version=version)
    if errors:
        return await _release_page(request, release_id, errors)
    return RedirectResponse(f"/officer/releases/{release_id}", status_code=303)


# --- Certification evaluations ------------------------------------------------------------------------

@router.get("/evaluations", response_class=HTMLResponse)
async def evaluations(request: Request, status: str = "applied") -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    status = status if status in EVALUATION_STATES else "applied"
    page = await apis(request).get("registry", "/v1/evaluations", token=await token(request),
                                   params={"status": status, "limit": 50})
    return render(request, "office_evaluations.html", items=page["items"], current=status, states=EVALUATION_STATES)


async def _evaluation_page(request: Request, evaluation_id: str, errors: dict[str, str] | None = None) -> Response:
    api, bearer = apis(request), await token(request)
    try:
        evaluation = await api.get("registry", f"/v1/evaluations/{evaluation_id}", token=bearer)
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    eligibility = None
    if evaluation["status"] in ("applied", "under_review"):
        try:
            eligibility = await api.get("registry", f"/v1/talents/{evaluation['talent_id']}/eligibility", token=bearer,
                                        params={"level": evaluation["level"], "category": evaluation["category"]})
        except ApiProblem:
            eligibility = None
    return render(request, "office_evaluation.html", status=422 if errors else 200, evaluation=evaluation,
                  eligibility=eligibility, errors=errors or {}, labels={"reasons": "Reasons"})


@router.get("/evaluations/{evaluation_id}", response_class=HTMLResponse)
async def evaluation_page(request: Request, evaluation_id: str) -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    return await _evaluation_page(request, evaluation_id)


@router.post("/evaluations/{evaluation_id}/{action}", response_class=HTMLResponse)
async def act_on_evaluation(request: Request, evaluation_id: str, action: str,
                            csrf_token: Annotated[str, Form()] = "", version: Annotated[str, Form()] = "",
                            reasons: Annotated[str, Form()] = "") -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    paths = {"review": "review", "grant": "grant", "refuse": "refusal"}
    if action not in paths:
        return render(request, "not_found.html", status=404)
    body = {"reasons": lines(reasons)} if action == "refuse" else None
    errors = await _call(request, "registry", f"/v1/evaluations/{evaluation_id}/{paths[action]}", json=body,
                         version=version)
    if errors:
        return await _evaluation_page(request, evaluation_id, errors)
    return RedirectResponse(f"/officer/evaluations/{evaluation_id}", status_code=303)


# --- Campaign activities ------------------------------------------------------------------------------

@router.get("/activities", response_class=HTMLResponse)
async def activities(request: Request, state: str = "submitted") -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    state = state if state in ACTIVITY_STATES else "submitted"
    page = await apis(request).get("publicity", "/v1/activities", token=await token(request),
                                   params={"state": state, "limit": 50})
    return render(request, "office_activities.html", items=page["items"], state=state, states=ACTIVITY_STATES)


async def _activity_page(request: Request, activity_id: str, errors: dict[str, str] | None = None,
                         reason: str = "") -> Response:
    try:
        activity = await apis(request).get("publicity", f"/v1/activities/{activity_id}", token=await token(request))
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    return render(request, "office_activity.html", status=422 if errors else 200, activity=activity,
                  errors=errors or {}, reason=reason, labels={"reason": "Reason"})


@router.get("/activities/{activity_id}", response_class=HTMLResponse)
async def activity_page(request: Request, activity_id: str) -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    return await _activity_page(request, activity_id)


@router.post("/activities/{activity_id}/{action}", response_class=HTMLResponse)
async def act_on_activity(request: Request, activity_id: str, action: str, csrf_token: Annotated[str, Form()] = "",
                          version: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "") -> Response:
    if (redirect := _officer(request)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    if action not in ("accept", "return"):
        return render(request, "not_found.html", status=404)
    path, body = ("acceptance", None) if action == "accept" else ("return", {"reason": reason})
    errors = await _call(request, "publicity", f"/v1/activities/{activity_id}/{path}", json=body, version=version)
    if errors:
        return await _activity_page(request, activity_id, errors, reason)
    return RedirectResponse(f"/officer/activities/{activity_id}", status_code=303)


# --- Plan targets -------------------------------------------------------------------------------------

@router.get("/targets", response_class=HTMLResponse)
async def targets(request: Request) -> Response:
    """Progress against the programme's talent targets, by city (the registry's live tally)."""
    if (redirect := signed_in_or_redirect(request, "officer", "coordinator")) is not None:
        return redirect
    found = await apis(request).get("registry", "/v1/targets")
    return render(request, "office_targets.html", targets=found)
