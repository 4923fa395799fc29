"""Route dependencies every service uses, declared once: the process context, the caller when a token
is optional, If-Match and cursor pages.

They are also the *facts* the app factory documents each operation from (servicekit.openapi): a route
that takes `IfMatch` answers 428 without it and 412 when stale, one that takes `Pagination` answers 400
for a cursor it did not issue, one that takes `MaybeCaller` is public with an optional token. Routes
declare what they need and the OpenAPI follows, instead of every route listing its statuses by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from servicekit.auth import Principal
from servicekit.http import MAX_PAGE_SIZE
from servicekit.service import ServiceContext, context_of

Context = Annotated[ServiceContext, Depends(context_of)]
"""The process's live resources (store, producer, metrics)."""

# Markers the OpenAPI post-processing reads (and removes) from a parameter's schema.
IF_MATCH_MARKER = "x-servicekit-if-match"
CURSOR_MARKER = "x-servicekit-cursor"

IfMatch = Annotated[str | None, Header(
    alias="If-Match", description='The ETag last read (e.g. `"3"`); 428 without it, 412 when stale.',
    json_schema_extra={IF_MATCH_MARKER: "required"})]
"""If-Match on an update: parse it with `servicekit.http.expected_version`, which answers 428 when it is
missing. It is optional to FastAPI on purpose (a missing header must be 428, not a 422 validation
error); the OpenAPI marks it required, which is what a client must do."""

OptionalIfMatch = Annotated[str | None, Header(
    alias="If-Match", description='The ETag last read (e.g. `"3"`); optional, 412 when stale.',
    json_schema_extra={IF_MATCH_MARKER: "optional"})]
"""If-Match where the command may be sent unconditionally (the state machine guards it anyway)."""

# A scheme of its own so the OpenAPI post-processing can tell an optional token from a required one; it
# is documented as "no token, or the bearer token" and never appears by this name in the document.
OPTIONAL_BEARER_SCHEME = "OptionalBearer"
_optional_bearer = HTTPBearer(auto_error=False, scheme_name=OPTIONAL_BEARER_SCHEME)


async def optional_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)],
) -> Principal | None:
    """Public routes: anonymous callers are fine, but a token that is sent must be valid."""
    if credentials is None:
        return None
    principal: Principal = request.app.state.token_verifier.verify(credentials.credentials)
    return principal


MaybeCaller = Annotated[Principal | None, Depends(optional_principal)]


@dataclass(frozen=True)
class Page:
    cursor: str | None
    limit: int


# `async def`, though it awaits nothing: FastAPI runs a plain `def` dependency in its thread pool, a
# hand-over to a worker thread and back on every request that takes a page.
async def page_params(
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page, as the API issued it",
                                        json_schema_extra={CURSOR_MARKER: True})] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page")] = 20,
) -> Page:
    return Page(cursor=cursor, limit=limit)


Pagination = Annotated[Page, Depends(page_params)]
"""A cursor page: `cursor` (opaque, 400 when it is not one the API issued) and a bounded `limit`."""
