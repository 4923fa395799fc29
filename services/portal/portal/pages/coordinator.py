"""The training coordinator's pages: the registry's talents (register one, see its status and
enrolments; officers change the status), the base's courses and sessions (training API), a session's
enrolments (enrol a talent, approve, book, record attendance or a no-show, record the assessment) and
the waiting lists. The APIs decide who may do what (a coordinator acts for its own base only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.apis import ApiProblem
from portal.pages.common import (
    apis,
    formatter,
    if_match,
    render,
    require_csrf,
    signed_in_or_redirect,
    split_list,
    token,
)
from portal.pages.forms import local_to_aware, refusal
from portal.sessions import load

router = APIRouter(prefix="/coordinator")
CATEGORIES = ("enforcement", "enterprise_ip_management", "patent_agency", "information_retrieval_analysis",
              "ip_services")
TALENT_STATUSES = ("active", "suspended", "inactive", "removed")
AUDIENCES = ("government_cadres", "enterprise_managers", "engineers", "students", "service_staff")
TALENT_LABELS = {"name": "Name", "identity_number": "Identity number", "employer_organisation_id": "Employer",
                 "region_code": "Region code", "categories": "Categories", "contact": "Email",
                 "status": "Status", "reason": "Reason"}
COURSE_LABELS = {"title": "Title", "audience": "Audience", "credit_hours": "Credit hours",
                 "categories": "Categories", "pass_mark": "Pass mark", "description": "Description",
                 "prerequisites": "Prerequisites", "training_base_id": "Training base"}
SESSION_LABELS = {"starts_at": "Starts", "ends_at": "Ends", "venue": "Venue", "capacity": "Seats"}
ENROLMENT_LABELS = {"talent_id": "Registration number", "score": "Score", "reason": "Reason"}
# Enrolment actions: the API's path and the form field its body carries.
ENROLMENT_ACTIONS = {"approve": ("approval", None), "book": ("booking", None), "attendance": ("attendance", None),
                     "no-show": ("no-show", None), "assessment": ("assessment", "score"),
                     "cancel": ("cancellation", "reason")}


def _staff(request: Request) -> Response | None:
    return signed_in_or_redirect(request, "coordinator", "officer")


def _renamed(errors: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    return {names.get(k, k): v for k, v in errors.items()}


# --- Talents ------------------------------------------------------------------------------------------

@router.get("/talents", response_class=HTMLResponse)
async def talents(request: Request, status: str = "", employer: str = "", cursor: str = "") -> Response:
    if (redirect := _staff(request)) is not None:
        return redirect
    params: dict[str, Any] = {"limit": 50}
    if status in TALENT_STATUSES:
        params["status"] = status
    if employer.strip():
        params["employer_organisation_id"] = employer.strip().upper()
    if cursor:
        params["cursor"] = cursor
    errors: dict[str, str] = {}
    items: list[dict[str, Any]] = []
    next_cursor = None
    try:
        page = await apis(request).get("registry", "/v1/talents", token=await token(request), params=params)
        items, next_cursor = page["items"], page.get("next_cursor")
    except ApiProblem as problem:
        errors = _renamed(refusal(problem, formatter(request)), {"employer_organisation_id": "employer"})
    return render(request, "coordinator_talents.html", items=items, next_cursor=next_cursor, errors=errors,
                  current=status, employer=employer, statuses=TALENT_STATUSES)


@router.get("/talents/new", response_class=HTMLResponse)
async def new_talent(request: Request) -> Response:
    if (redirect := _staff(request)) is not None:
        return redirect
    return render(request, "coordinator_talent_form.html", values={"categories": []}, errors={},
                  categories=CATEGORIES, labels=TALENT_LABELS)


@router.post("/talents/new", response_class=HTMLResponse)
async def register_talent(
    request: Request, csrf_token: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
    identity_number: Annotated[str, Form()] = "", employer_organisation_id: Annotated[str, Form()] = "",
    region_code: Annotated[str, Form()] = "", categories: Annotated[list[str] | None, Form()] = None,
    email: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
) -> Response:
    if (redirect := _staff(request)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    # The identity number is never sent back to the browser: a refused form asks for it again.
    values = {"name": name, "employer_organisation_id": employer_organisation_id, "region_code": region_code,
              "categories": categories or [], "email": email, "phone": phone}
    contact = {k: v for k, v in (("email", email), ("phone", phone)) if v.strip()}
    body = {"name": name, "identity_number": identity_number, "employer_organisation_id": employer_organisation_id,
            "region_code": region_code, "categories": categories or [], "contact": contact}
    try:
        response = await apis(request).call("registry", "POST", "/v1/talents", token=await token(request), json=body)
    except ApiProblem as problem:
        errors = _renamed(refusal(problem, formatter(request)), {})
        if "contact" in errors:
            errors["email"] = errors.pop("contact")
        return render(request, "coordinator_talent_form.html", status=422, values=values, errors=errors,
                      categories=CATEGORIES, labels={**TALENT_LABELS, "email": "Email"})
    return RedirectResponse(f"/coordinator/talents/{response.json()['talent_id']}", status_code=303)


async def _talent_page(request: Request, talent_id: str, errors: dict[str, str] | None = None) -> Response:
    api, bearer = apis(request), await token(request)
    try:
        talent = await api.get("registry", f"/v1/talents/{talent_id}", token=bearer)
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    try:
        enrolments = (await api.get("training", f"/v1/talents/{talent_id}/enrolments", token=bearer))["items"]
    except ApiProblem:
        enrolments = []  # training has not learnt of the talent yet
    return render(request, "coordinator_talent.html", status=422 if errors else 200, talent=talent,
                  enrolments=enrolments, errors=errors or {}, statuses=TALENT_STATUSES, labels=TALENT_LABELS)


@router.get("/talents/{talent_id}", response_class=HTMLResponse)
async def talent_page(request: Request, talent_id: str) -> Response:
    if (redirect := _staff(request)) is not None:
        return redirect
    return await _talent_page(request, talent_id)


@router.post("/talents/{talent_id}/status", response_class=HTMLResponse)
async def change_status(request: Request, talent_id: str, csrf_token: Annotated[str, Form()] = "",
                        version: Annotated[str, Form()] = "", status: Annotated[str, Form()] = "",
                        reason: Annotated[str, Form()] = "") -> Response:
    """Suspend, reinstate, deactivate or remove (the registry lets officers only)."""
    if (redirect := _staff(request)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    try:
        await apis(request).call("registry", "POST", f"/v1/talents/{talent_id}/status", token=await token(request),
                                 json={"status": status, "reason": reason}, headers=if_match(version))
    except ApiProblem as problem:
        return await _talent_page(request, talent_id, refusal(problem, formatter(request)))
    return RedirectResponse(f"/coordinator/talents/{talent_id}", status_code=303)


# --- Courses and sessions -----------------------------------------------------------------------------

@router.get("/courses", response_class=HTMLResponse)
async def courses(request: Request) -> Response:
    """The base's courses (a coordinator's own base; officers see every base's)."""
    if (redirect := _staff(request)) is not None:
        return redirect
    session = load(request)
    params: dict[str, Any] = {"limit": 100}
    if not session.has_role("officer") and session.org:
        params["training_base_id"] = session.org
    page = await apis(request).get("training", "/v1/courses", params=params)
    return render(request, "coordinator_courses.html", items=page["items"])


def _course_form(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {"values": values, "errors": errors, "audiences": AUDIENCES, "categories": CATEGORIES,
            "labels": COURSE_LABELS}


@router.get("/courses/new", response_class=HTMLResponse)
async def new_course(request: Request) -> Response:
    if (redirect := _staff(request)) is not None:
        return redirect
    return render(request, "coordinator_course_form.html", **_course_form({"categories": [], "pass_mark": "60"}, {}))


@router.post("/courses/new", response_class=HTMLResponse)
async def create_course(
    request: Request, csrf_token: Annotated[str, Form()] = "", title: Annotated[str, Form()] = "",
    audience: Annotated[str, Form()] = "", credit_hours: Annotated[str, Form()] = "",
    categories: Annotated[list[str] | None, Form()] = None, pass_mark: Annotated[str, Form()] = "",
    prerequisites: Annotated[str, Form()] = "", description: Annotated[str, Form()] = "",
    training_base_id: Annotated[str, Form()] = "",
) -> Response:
    if (redirect := _staff(request)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    values = {"title": title, "audience": audience, "credit_hours": credit_hours, "categories": categories or [],
              "pass_mark": pass_mark, "prerequisites": prerequisites, "description": description,
              "training_base_id": training_base_id}
    body: dict[str, Any] = {"title": title, "audience": audience or None, "credit_hours": credit_hours or None,
                            "categories": categories or [], "prerequisites": split_list(prerequisites)}
    if pass_mark.strip():
        body["pass_mark"] = int(pass_mark) if pass_mark.strip().isdigit() else pass_mark
    if description.strip():
        body["description"] = description
    if training_base_id.strip():
        body["training_base_id"] = training_base_id.strip()
    try:
        response = await apis(request).call("training", "POST", "/v1/courses", token=await token(request), json=body)
    except ApiProblem as problem:
        return render(request, "coordinator_course_form.html", status=422,
                      **_course_form(values, refusal(problem, formatter(request))))
    return RedirectResponse(f"/coordinator/courses/{response.json()['id']}", status_code=303)


async def _course_page(request: Request, course_id: str, values: dict[str, Any] | None = None,
                       errors: dict[str, str] | None = None) -> Response:
    api = apis(request)
    try:
        course = await api.get("training", f"/v1/courses/{course_id}")
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        raise
    sessions = (await api.get("training", "/v1/sessions", params={"course_id": course_id, "limit": 100}))["items"]
    return render(request, "coordinator_course.html", status=422 if errors else 200, course=course,
                  sessions=sessions, values=values or {"capacity": "30"}, errors=errors or {}, labels=SESSION_LABELS)


@router.get("/courses/{course_id}", response_class=HTMLResponse)
async def course_page(request: Request, course_id: str) -> Response:
    if (redirect := _staff(request)) is not None:
        return redirect
    return await _course_page(request, course_id)


@router.post("/courses/{course_id}/sessions", response_class=HTMLResponse)
async def create_session(request: Request, course_id: str, csrf_token: Annotated[str, Form()] = "",
                         starts_at: Annotated[str, Form()] = "", ends_at: Annotated[str, Form()] = "",
                         venue: Annotated[str, Form()] = "", capacity: Annotated[str, Form()] = "") -> Response:
    if (redirect := _staff(request)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    values = {"starts_at": starts_at, "ends_at": ends_at, "venue": venue, "capacity": capacity}
    body = {"starts_at": local_to_aware(starts_at), "ends_at": local_to_aware(ends_at), "venue": venue,
            "capacity": int(capacity) if capacity.strip().isdigit() else capacity or None}
    try:
        response = await apis(request).call("training", "POST", f"/v1/courses/{course_id}/sessions",
                                            token=await token(request), json=body)
    except ApiProblem as problem:
        return await _course_page(request, course_id, values, refusal(problem, formatter(request)))
    return RedirectResponse(f"/coordinator/sessions/{response.json()['id']}", status_code=303)


async def _session_page(request: Request, session_id: str, errors: dict[str, str] | None = None,
                        talent_id: str = "") -> Response:
    api, bearer = apis(request), await token(request)
    try:
        session = await api.get("training", f"/v1/sessions/{session_id}")
        enrolments = (await api.get("training", f"/v1/sessions/{session_id}/enrolments", token=bearer))["items"]
    except ApiProblem as problem:
        if problem.status == 404:
            return render(request, "not_found.html", status=404)
        if problem.status == 403:
            return render(request, "message.html", status=403, message="Your role does not give access to this page.")
        raise
    waitlist = sorted((e for e in enrolments if e["state"] == "waitlisted"),
                      key=lambda e: e.get("queue_position") or 0)
    return render(request, "coordinator_session.html", status=422 if errors else 200, course_session=session,
                  enrolments=[e for e in enrolments if e["state"] != "waitlisted"], waitlist=waitlist,
                  errors=errors or {}, talent_id=talent_id, labels=ENROLMENT_LABELS)


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
async def session_page(request: Request, session_id: str) -> Response:
    if (redirect := _staff(request)) is not None:
        return redirect
    return await _session_page(request, session_id)


@router.post("/sessions/{session_id}/enrolments", response_class=HTMLResponse)
async def enrol(request: Request, session_id: str, csrf_token: Annotated[str, Form()] = "",
                talent_id: Annotated[str, Form()] = "") -> Response:
    """Enrol a talent of the registry (by its registration number) in the base's session."""
    if (redirect := _staff(request)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    try:
        await apis(request).call("training", "POST", f"/v1/sessions/{session_id}/enrolments",
                                 token=await token(request), json={"talent_id": talent_id.strip()})
    except ApiProblem as problem:
        errors = refusal(problem, formatter(request))
        if "" in errors and problem.status in (404, 409, 422):
            errors["talent_id"] = errors.pop("")  # an unknown, inactive or already enrolled talent
        return await _session_page(request, session_id, errors, talent_id)
    return RedirectResponse(f"/coordinator/sessions/{session_id}", status_code=303)


@router.post("/enrolments/{enrolment_id}/{action}", response_class=HTMLResponse)
async def act_on_enrolment(request: Request, enrolment_id: str, action: str, csrf_token: Annotated[str, Form()] = "",
                           version: Annotated[str, Form()] = "", session_id: Annotated[str, Form()] = "",
                           score: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "") -> Response:
    if (redirect := _staff(request)) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    if action not in ENROLMENT_ACTIONS:
        return render(request, "not_found.html", status=404)
    path, field = ENROLMENT_ACTIONS[action]
    body: dict[str, Any] | None = None
    if field == "score":
        body = {"score": int(score) if score.strip().isdigit() else score or None}
    elif field == "reason":
        body = {"reason": reason}
    try:
        await apis(request).call("training", "POST", f"/v1/enrolments/{enrolment_id}/{path}",
                                 token=await token(request), json=body, headers=if_match(version))
    except ApiProblem as problem:
        errors = refusal(problem, formatter(request))
        return await _session_page(request, session_id, errors) if session_id else render(
            request, "message.html", status=problem.status, message=next(iter(errors.values())), translated=True)
    return RedirectResponse(f"/coordinator/sessions/{session_id}" if session_id else "/coordinator/courses",
                            status_code=303)


@router.get("/waitlist", response_class=HTMLResponse)
async def waitlist(request: Request) -> Response:
    """The base's sessions with talents waiting for a seat, and who waits in which order."""
    if (redirect := _staff(request)) is not None:
        return redirect
    api, bearer = apis(request), await token(request)
    session = load(request)
    params: dict[str, Any] = {"limit": 100}
    if not session.has_role("officer") and session.org:
        params["training_base_id"] = session.org
    sessions = [s for s in (await api.get("training", "/v1/sessions", params=params))["items"] if s["waitlisted"]]
    waiting: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for s in sessions:
        found = await api.get("training", f"/v1/sessions/{s['id']}/enrolments", token=bearer,
                              params={"state": "waitlisted"})
        waiting.append((s, sorted(found["items"], key=lambda e: e.get("queue_position") or 0)))
    return render(request, "coordinator_waitlist.html", waiting=waiting)
