"""Conditional GET and cache lifetimes for the public answers.

The ETag is a digest of the exact bytes served, so it changes whenever anything in the answer does and
never needs to be kept in step with the data. The lifetime is the configured maximum, cut down to the
seconds left before the next embargo, so no cache holds an answer past the moment a release appears
(0 while a scheduled release is overdue)."""

from __future__ import annotations

import hashlib
import math

from fastapi import Request, Response
from servicekit.service import ServiceContext

from publicity.common import now
from publicity.releases.service import next_embargo
from publicity.settings import PublicitySettings


async def max_age(ctx: ServiceContext) -> int:
    settings = ctx.settings
    assert isinstance(settings, PublicitySettings)
    limit = settings.feed_max_age_seconds
    upcoming = await next_embargo(ctx.db)
    if upcoming is not None:
        limit = min(limit, max(math.floor((upcoming - now()).total_seconds()), 0))
    return limit


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return "*" in candidates or tag in candidates


async def conditional(ctx: ServiceContext, request: Request, body: bytes, media_type: str) -> Response:
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={await max_age(ctx)}"}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)
