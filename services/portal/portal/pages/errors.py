"""Errors as pages in the user's language: a 404, an expired form, an API's refusal; an expired
sign-in leads back to the sign-in page."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal.apis import ApiProblem, problem_message
from portal.pages.common import formatter, render
from portal.sessions import load


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return render(request, "not_found.html", status=404)
        return render(request, "message.html", status=exc.status_code, message=str(exc.detail))

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> Response:
        fmt = formatter(request)
        if exc.status == 401:
            load(request).sign_out()
            return RedirectResponse("/auth/login?" + urlencode({"next": request.url.path}), status_code=303)
        status = exc.status if exc.status in (403, 404, 409, 503) else 502
        return render(request, "message.html", status=status, message=problem_message(exc, fmt), translated=True)
