"""Sign-in through Keycloak (authorisation code with PKCE) and sign-out, which ends Keycloak's session
too."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from portal.apis import ApiProblem
from portal.oidc import SignInError
from portal.pages.common import language, oidc, render, require_csrf, safe_next
from portal.sessions import load, save

log = logging.getLogger(__name__)
router = APIRouter()

@router.get("/auth/login")
async def sign_in(request: Request, next: str = "/") -> Response:
    provider = oidc(request)
    if not provider.configured:
        return render(request, "message.html", status=503, message="Sign-in is not configured here.")
    session = load(request)
    url = await provider.begin(session, safe_next(next), "zh-CN" if language(request) == "zh" else "en")
    response = RedirectResponse(url, status_code=303)
    save(request, response, session)
    return response


@router.get("/auth/callback")
async def sign_in_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    session = load(request)
    if error or not code:
        return render(request, "message.html", status=400, message="The sign-in was cancelled or refused.")
    try:
        return_to = await oidc(request).complete(session, code, state)
    except (SignInError, ApiProblem, OSError) as exc:
        log.warning("sign-in failed: %s", exc)
        return render(request, "message.html", status=400, message="The sign-in could not be completed.")
    except Exception as exc:  # the token endpoint's or verifier's refusals
        log.warning("sign-in failed: %s", exc)
        return render(request, "message.html", status=400, message="The sign-in could not be completed.")
    response = RedirectResponse(safe_next(return_to), status_code=303)
    save(request, response, session)
    return response


@router.post("/auth/logout")
async def sign_out(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    session = load(request)
    require_csrf(session, csrf_token)
    try:
        await oidc(request).end_session(session)
    except OSError as exc:
        log.warning("could not end the Keycloak session: %s", exc)
    session.sign_out()
    response = RedirectResponse("/", status_code=303)
    save(request, response, session)
    return response


