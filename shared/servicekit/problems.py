"""RFC 9457 problem details for every error a service returns, validation errors included.

Each problem says what was wrong (`title`, `detail`) and where (`errors[].pointer`, a JSON Pointer
into the request body, or `query`/`path`/`header` names), and carries the correlation id so a user
can quote it to an operator.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import OperationFailure
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from servicekit.correlation import correlation_id
from servicekit.mongo import STORE_UNAVAILABLE
from servicekit.outcomes import may_have_written

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://errors.ipo.ln.cn/"


class ProblemError(Exception):
    """Raise from domain services or routes to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str, *, kind: str | None = None,
                 errors: Sequence[Mapping[str, Any]] = (), headers: Mapping[str, str] | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extensions = extensions


def problem_body(status: int, title: str, detail: str, kind: str, instance: str | None = None,
                 errors: Sequence[Mapping[str, Any]] = (), **extensions: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": PROBLEM_BASE + kind, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    cid = correlation_id.get()
    if cid:
        body["correlation_id"] = cid
    body.update(extensions)
    return body


def problem_response(status: int, title: str, detail: str, kind: str, request: Request | None = None,
                     errors: Sequence[Mapping[str, Any]] = (), headers: Mapping[str, str] | None = None,
                     **extensions: Any) -> JSONResponse:
    instance = request.url.path if request is not None else None
    return JSONResponse(
        problem_body(status, title, detail, kind, instance, errors, **extensions),
        status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}),
    )


def _pointer(loc: Sequence[Any]) -> dict[str, str]:
    """Turn pydantic's error location into where the error is in the request."""
    if not loc:
        return {"pointer": "#"}
    where, *rest = loc
    if where == "body":
        return {"pointer": "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in rest)}
    return {str(where): ".".join(str(p) for p in rest)}


def _parse_position(loc: Sequence[Any], document: Any) -> dict[str, Any]:
    """Where a body failed to parse as JSON: FastAPI reports the character offset as the last element of
    the location (`("body", 16)`). It is a position in the text, not a JSON Pointer into a document that
    does not exist, so it gets members of its own: `position`, and `line`/`column` for people; the
    pointer names the whole body (`#`)."""
    offset = loc[-1] if loc and isinstance(loc[-1], int) else None
    if offset is None:
        return {"pointer": "#"}
    where: dict[str, Any] = {"pointer": "#", "position": offset}
    if isinstance(document, bytes):
        document = document.decode("utf-8", errors="replace")
    if isinstance(document, str):
        before = document[:offset]
        where["line"] = before.count("\n") + 1
        where["column"] = offset - before.rfind("\n")  # rfind is -1 on the first line: column = offset + 1
    return where


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = exc.errors()
    if any(e.get("type") == "json_invalid" for e in details):
        first = next(e for e in details if e.get("type") == "json_invalid")
        ctx = first.get("ctx", {})
        return problem_response(
            400, "Malformed JSON", f"The request body is not valid JSON: {ctx.get('error', 'parse error')}",
            "malformed-json", request, errors=[{**_parse_position(first.get("loc", ()), exc.body),
                                               "detail": f"invalid JSON: {ctx.get('error', 'parse error')}"}],
        )
    errors = []
    for error in details:
        # A ValueError raised by a validator reaches us as "Value error, <message>": the message is
        # written for the user, pydantic's prefix is not.
        detail = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        entry: dict[str, Any] = {**_pointer(error.get("loc", ())), "detail": detail}
        if error.get("type") == "extra_forbidden":
            entry["detail"] = "unknown field"
        entry["code"] = error.get("type", "invalid")
        errors.append(entry)
    summary = "; ".join(f"{next(iter(e.values()))}: {e['detail']}" for e in errors[:5])
    return problem_response(422, "Invalid request", summary, "validation", request, errors=errors)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.title, exc.detail, exc.kind, request, exc.errors, exc.headers,
                            **exc.extensions)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
              406: "Not acceptable", 409: "Conflict", 412: "Precondition failed", 413: "Content too large",
              415: "Unsupported media type", 428: "Precondition required", 429: "Too many requests"}
    title = titles.get(exc.status_code, "HTTP error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(exc.status_code, title, detail, title.lower().replace(" ", "-"), request,
                            headers=headers)


def _allowed_methods(request: Request) -> str:
    """The `Allow` of a 405: every method of the path template the request matched. Starlette answers
    with the methods of the first route on the path only, and FastAPI makes one route per method, so a
    path with GET and PATCH said `Allow: GET`."""
    template = None
    methods: set[str] = set()
    for route in request.app.router.routes:
        if not isinstance(route, Route) or route.methods is None:
            continue
        if template is None:
            match, _ = route.matches(request.scope)
            if match is Match.NONE:
                continue
            template = route.path_format
        if route.path_format == template:
            methods |= route.methods
    return ", ".join(sorted(methods))


async def _on_store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("store unavailable: %s", exc)
    if may_have_written():
        # A write command had gone out: it may have landed. Say so, and how a retry stays safe.
        return problem_response(
            503, "Outcome unknown",
            "The database did not confirm this change in time, so it may or may not have been stored. "
            "Retry the same request: with the same Idempotency-Key a create is made at most once, and a change "
            "with the same If-Match and body that did land is answered with its result.",
            "outcome-unknown", request, headers={"Retry-After": "2"})
    return problem_response(503, "Store unavailable",
                            "The database cannot be reached right now; nothing was changed. Retry shortly.",
                            "store-unavailable", request, headers={"Retry-After": "2"})


def store_busy(exc: Exception) -> bool:
    """FerretDB's SQLite backend refusing a command because another write holds the database (SQLITE_BUSY,
    "database is locked"): that command did not commit; the store is overloaded, not broken."""
    return isinstance(exc, OperationFailure) and "database is locked" in str(exc)


async def _on_store_error(request: Request, exc: Exception) -> JSONResponse:
    """A busy store is answered like an unreachable one (503, saying whether a write of this request may
    have landed), never as an internal error that leaves the caller guessing."""
    if store_busy(exc):
        return await _on_store_unavailable(request, exc)
    return await _on_unexpected(request, exc)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error")
    return problem_response(500, "Internal error", "An unexpected error occurred; it has been logged.",
                            "internal", request)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for exc_type in STORE_UNAVAILABLE:
        app.add_exception_handler(exc_type, _on_store_unavailable)
    app.add_exception_handler(OperationFailure, _on_store_error)
    app.add_exception_handler(Exception, _on_unexpected)
