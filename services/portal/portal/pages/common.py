"""What every page shares: the templates, rendering in the user's language, the signed-in user's token,
CSRF checks and the role gate. Pages are grouped by what they are about in the modules beside this one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from portal.apis import Apis
from portal.i18n import HTML_LANG, LANGUAGES, Formatter, pick_language
from portal.oidc import Oidc
from portal.sessions import Session, load, save

LANGUAGE_COOKIE = "ipo_lang"

templates = Environment(loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)

DEAL_TYPES = ("assignment", "exclusive_licence", "sole_licence", "ordinary_licence", "open_licence")
AMOUNT_HINT = "Enter an amount in yuan, e.g. 50000 or 12500.50."


def language(request: Request) -> str:
    return pick_language(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))


def formatter(request: Request) -> Formatter:
    return Formatter(language(request))


def apis(request: Request) -> Apis:
    found: Apis = request.app.state.apis
    return found


def oidc(request: Request) -> Oidc:
    found: Oidc = request.app.state.oidc
    return found


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def safe_next(target: str | None) -> str:
    """Only paths of this site (no scheme, no host): a sign-in or language switch never leads away."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    chosen = language(request)
    fmt = Formatter(chosen)
    session = load(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    body = templates.get_template(template).render(
        _=fmt.gettext, _p=fmt.pgettext, fmt=fmt, lang=chosen, html_lang=HTML_LANG[chosen], languages=LANGUAGES,
        session=session, csrf=session.csrf, here=here, request=request, **context)
    response = HTMLResponse(body, status_code=status)
    save(request, response, session)
    return response


async def token(request: Request) -> str | None:
    """The signed-in user's access token, refreshed when it has (nearly) expired."""
    session = load(request)
    if session.access_token is None:
        return None
    if session.expires_at - time.time() < 20 and not await oidc(request).refresh(session):
        session.sign_out()
        return None
    return session.access_token


def require_csrf(session: Session, submitted: str | None) -> None:
    if not session.csrf_ok(submitted):
        raise HTTPException(403, "The form has expired: go back, reload the page and try again.")


def signed_in_or_redirect(request: Request, *roles: str) -> Response | None:
    """None when the user is signed in with one of the roles; else where to send them instead."""
    session = load(request)
    if not session.signed_in and not session.refresh_token:
        return RedirectResponse("/auth/login?" + urlencode({"next": request.url.path}), status_code=303)
    if roles and not session.has_role(*roles):
        return render(request, "message.html", status=403, message="Your role does not give access to this page.")
    return None


def if_match(version: str | int | None) -> dict[str, str]:
    """The If-Match header for the version a page was shown with (none when the form had none: the
    API then refuses with 428, which the page shows)."""
    text = str(version) if version is not None else ""
    return {"If-Match": f'"{text}"'} if text.isdigit() else {}


def split_list(text: str) -> list[str]:
    """A comma-separated form field (ASCII or full-width commas) as a list of its non-empty parts."""
    return [part.strip() for part in text.replace("\uff0c", ",").split(",") if part.strip()]
