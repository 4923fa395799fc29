"""The OpenAPI document as a contract a client can trust, derived once from what the routes declare.

FastAPI documents the success responses; everything else an operation can answer follows from facts
about the route, so it is added here rather than listed by hand on every route:

- every error is the one `Problem` schema (RFC 9457) under `application/problem+json`, 422 included
  (FastAPI's `HTTPValidationError` under `application/json` is not what the API answers);
- 401 where a bearer token is required, 403 where roles are (`require_roles`), 404 where an id is in
  the path, 409 on writes (state machines, uniqueness), 400/412/428 with `IfMatch` (which the document
  marks required, since 428 is the answer without it), 400 for a cursor the API did not issue, 400/413/
  415/422 for a JSON body, 503 everywhere (the store or a dependency is down);
- a POST that answers 201 and takes an `Idempotency-Key` also documents the 200 of a replay;
- an optional token (`MaybeCaller`) is documented as "no token, or the bearer token": the operation is
  public; operations without any token dependency carry no security requirement at all.

Routes still add their own `responses` (with a description saying when, e.g. 409 "not a draft"); those
descriptions are kept and given the problem schema.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from servicekit.problems import PROBLEM_JSON
from servicekit.routing import CURSOR_MARKER, IF_MATCH_MARKER, OPTIONAL_BEARER_SCHEME

JsonObject = dict[str, Any]

BEARER_SCHEME = "HTTPBearer"
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
# What expected_version accepts: an ETag, weak or strong, of a version number (quotes optional).
ETAG_PATTERN = r'^\s*(W/)?"*[0-9]+"*\s*$'

PROBLEM_SCHEMA: JsonObject = {
    "title": "Problem",
    "description": "RFC 9457 problem details. Extension members (e.g. `current_etag`, `missing`, "
                   "`conflicting_licence_id`) depend on `type`.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The request path"},
        "correlation_id": {"type": "string", "description": "Quote it to an operator"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemItem"}},
    },
    "additionalProperties": True,
}

PROBLEM_ITEM_SCHEMA: JsonObject = {
    "title": "ProblemItem",
    "description": "One thing wrong with the request, and where: `pointer` (a JSON Pointer into the body, "
                   "`#/field/0`), or the `query`, `path` or `header` parameter it concerns; for a body that is "
                   "not JSON at all, the character `position` (with `line` and `column`) where parsing failed.",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "pointer": {"type": "string"},
        "query": {"type": "string"},
        "path": {"type": "string"},
        "header": {"type": "string"},
        "position": {"type": "integer", "minimum": 0},
        "line": {"type": "integer", "minimum": 1},
        "column": {"type": "integer", "minimum": 1},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Machine-readable kind of error (pydantic's error type)"},
    },
    "additionalProperties": True,
}

DESCRIPTIONS = {
    400: "Bad request: malformed JSON, an If-Match that is not an ETag, or a cursor the API did not issue",
    401: "No bearer token, or it was rejected",
    403: "The caller's roles (or organisation) do not allow this",
    404: "Not found (or not visible to the caller)",
    409: "Conflicts with the resource's current state",
    412: "If-Match names a version the resource is no longer at",
    413: "The request body exceeds the size limit",
    415: "The request body is not of a media type this operation takes",
    422: "Invalid request: `errors[]` says what and where",
    428: "If-Match is required",
    503: "A dependency (the store) is unavailable; nothing was changed, retry shortly",
}


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _calls(route: APIRoute) -> list[Callable[..., Any]]:
    return [d.call for d in _walk(route.dependant) if d.call is not None]


def _requires_roles(route: APIRoute) -> bool:
    return any(getattr(call, "__servicekit_roles__", None) is not None for call in _calls(route))


def _problem_response(description: str) -> JsonObject:
    return {"description": description,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _set_error(operation: JsonObject, status: int, description: str | None = None) -> None:
    responses: JsonObject = operation.setdefault("responses", {})
    existing = responses.get(str(status), {})
    # A route's own description says when it happens; the generic one is only the default.
    said = existing.get("description")
    keep = said if said and said not in ("Validation Error", "Successful Response") else None
    responses[str(status)] = _problem_response(keep or description or DESCRIPTIONS[status])


def _operations(app: FastAPI) -> Iterator[tuple[APIRoute, str]]:
    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in sorted(route.methods):
                yield route, method.lower()


def _document_route(route: APIRoute, method: str, operation: JsonObject) -> None:
    parameters: list[JsonObject] = operation.get("parameters", [])
    statuses: set[int] = {503}
    security: list[JsonObject] = operation.get("security") or []
    if security:
        statuses.add(401)  # a token that is sent must be valid, even where it is optional
        if all(set(requirement) <= {OPTIONAL_BEARER_SCHEME} for requirement in security):
            operation["security"] = [{}, {BEARER_SCHEME: []}]
    if _requires_roles(route):
        statuses.add(403)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if method in WRITE_METHODS:
        statuses.add(409)
    for parameter in parameters:
        schema = parameter.get("schema", {})
        # An optional query or header parameter is left out, never sent as null (there is no null on
        # the wire); FastAPI's `X | None` says anyOf [X, null].
        if "anyOf" in schema and any(s.get("type") == "null" for s in schema["anyOf"]):
            kept = [s for s in schema.pop("anyOf") if s.get("type") != "null"]
            if len(kept) == 1:
                schema.update({k: v for k, v in kept[0].items() if k not in schema})
            else:
                schema["anyOf"] = kept
        if_match = schema.pop(IF_MATCH_MARKER, None)
        if if_match is not None:
            # Documented as the server reads it, so generated ETags are well formed.
            parameter["schema"] = {"type": "string", "pattern": ETAG_PATTERN, "title": "If-Match"}
            statuses |= {400, 412}
            if if_match == "required":
                parameter["required"] = True
                statuses.add(428)
        if schema.pop(CURSOR_MARKER, None):
            # Opaque, but not any string: only what the API issued decodes (400 otherwise).
            schema["format"] = "cursor"
            statuses.add(400)
    body = operation.get("requestBody")
    if body is not None:
        statuses |= {413, 415, 422}
        if "application/json" in body.get("content", {}):
            statuses.add(400)  # malformed JSON
    for status in sorted(statuses):
        _set_error(operation, status)
    responses: JsonObject = operation["responses"]
    for code, response in list(responses.items()):
        if code.isdigit() and int(code) >= 400:
            responses[code] = _problem_response(response.get("description") or DESCRIPTIONS.get(int(code), ""))
    takes_key = any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in parameters)
    if "201" in responses and takes_key and "200" not in responses:
        replay = copy.deepcopy(responses["201"])
        replay["description"] = ("A replay: this Idempotency-Key (or this deal) was seen before; the resource "
                                 "the first request created, unchanged")
        responses["200"] = replay
    operation["responses"] = dict(sorted(responses.items()))


def document(app: FastAPI) -> JsonObject:
    """The app's OpenAPI document, with every operation's errors, security and headers as they are."""
    # FastAPI's own document (what it knows from the routes and models), then what it cannot know.
    app.openapi_schema = None
    doc = copy.deepcopy(FastAPI.openapi(app))
    components: JsonObject = doc.setdefault("components", {})
    schemas: JsonObject = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemItem"] = PROBLEM_ITEM_SCHEMA
    for route, method in _operations(app):
        path_item = doc.get("paths", {}).get(route.path_format)
        if path_item and method in path_item:
            _document_route(route, method, path_item[method])
    schemes: JsonObject = components.setdefault("securitySchemes", {})
    if schemes.pop(OPTIONAL_BEARER_SCHEME, None) is not None:
        schemes.setdefault(BEARER_SCHEME, {"type": "http", "scheme": "bearer"})
    if not schemes:
        components.pop("securitySchemes")
    if not schemas:
        components.pop("schemas")
    if not components:
        doc.pop("components")
    return doc


def install(app: FastAPI) -> None:
    """Serve `document(app)` (built once, on first request) as the app's OpenAPI."""

    def openapi() -> JsonObject:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
