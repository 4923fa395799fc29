"""Public feeds: Atom and JSON Feed of published releases and news, iCalendar of campaigns and the
fairs inside them. Conditional GET (ETag / If-None-Match -> 304); cached never past the next embargo.

The news feeds carry the newest FEED_SIZE entries, no archive pages (RFC 5005 would add `prev-archive`
links; subscribers poll the head, as feeds usually do, and the public list and pages hold the rest).
Rendered once per revision of the feed document and process (feeds/store.py `snapshot`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from servicekit.routing import Context

from publicity.campaigns import fairs
from publicity.campaigns import store as campaigns
from publicity.common import as_utc, now
from publicity.feeds import render
from publicity.feeds import store as feed
from publicity.feeds.caching import conditional
from publicity.public_events import store as event_store
from publicity.settings import PublicitySettings

router = APIRouter(prefix="/v1/feeds", tags=["public"])

FEED_SIZE = 50
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # `updated` of a feed with nothing published yet
FEED_RESPONSES: dict[int | str, dict[str, Any]] = {304: {"description": "Not modified (If-None-Match matched)"}}


def _base(ctx: Context) -> str:
    settings = ctx.settings
    assert isinstance(settings, PublicitySettings)
    return settings.public_base_url.rstrip("/")


@router.get("/news.atom", response_class=Response, responses={
    200: {"content": {"application/atom+xml": {"schema": {"type": "string"}}}, "description": "Atom feed"},
    **FEED_RESPONSES})
async def atom_feed(ctx: Context, request: Request) -> Response:
    """Public: the newest published releases and news as Atom (RFC 4287)."""
    current = await feed.snapshot(ctx.db)
    body = current.rendered.get("atom")
    if body is None:
        items = current.items[:FEED_SIZE]
        updated = max((as_utc(i["public_updated_at"]) for i in items), default=EPOCH)
        body = current.rendered["atom"] = render.atom(items, _base(ctx), updated)
    return await conditional(ctx, request, body, "application/atom+xml")


@router.get("/news.json", response_class=Response, responses={
    200: {"content": {"application/feed+json": {"schema": {"type": "object"}}}, "description": "JSON Feed 1.1"},
    **FEED_RESPONSES})
async def json_feed(ctx: Context, request: Request) -> Response:
    """Public: the newest published releases and news as JSON Feed 1.1."""
    current = await feed.snapshot(ctx.db)
    body = current.rendered.get("json")
    if body is None:
        body = current.rendered["json"] = render.json_feed(current.items[:FEED_SIZE], _base(ctx))
    return await conditional(ctx, request, body, "application/feed+json")


@router.get("/events.ics", response_class=Response, responses={
    200: {"content": {"text/calendar": {"schema": {"type": "string"}}}, "description": "iCalendar"},
    **FEED_RESPONSES})
async def calendar_feed(ctx: Context, request: Request) -> Response:
    """Public: public events (timed), campaigns and the fairs trading runs (all-day), as iCalendar (RFC 5545).
    Only public pages are linked: never a registration or cancellation link."""
    entries: list[dict[str, Any]] = []
    stamp = now().replace(hour=0, minute=0, second=0, microsecond=0)
    for doc in await campaigns.page(ctx.db, None, None, 200):
        entries.append({"uid_key": f"campaign-{doc['_id']}", "title": doc["name"],
                        "starts_on": date.fromisoformat(doc["starts_on"]),
                        "ends_on": date.fromisoformat(doc["ends_on"]), "description": doc["theme"],
                        "path": f"/v1/campaigns/{doc['_id']}"})
    for fair in await fairs.all_fairs(ctx.db):
        entries.append({"uid_key": f"fair-{fair['_id']}", "title": fair["name"],
                        "starts_on": date.fromisoformat(fair["starts_on"]),
                        "ends_on": date.fromisoformat(fair["ends_on"]), "location": fair.get("venue")})
    for event in await event_store.page(ctx.db, {}, None, 500):
        entries.append({"uid_key": f"event-{event['_id']}", "title": event["title"],
                        "starts_at": as_utc(event["starts_at"]), "ends_at": as_utc(event["ends_at"]),
                        "location": event.get("venue"), "description": event.get("description"),
                        "path": f"/v1/events/{event['_id']}"})
    body = render.calendar(entries, _base(ctx), stamp)
    return await conditional(ctx, request, body, "text/calendar; charset=utf-8")
