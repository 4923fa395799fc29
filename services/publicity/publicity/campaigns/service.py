"""Use cases for campaigns: planning, opening and closing, pins, and the page with its live totals."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint
from servicekit.mongo import Database, Document
from servicekit.service import ServiceContext

from publicity.activities import service as activities
from publicity.campaigns import fairs, sessions, store
from publicity.campaigns.domain import (
    CampaignRuleError,
    CampaignStatus,
    check_dates,
    check_transition,
    listed,
    overlaps,
)
from publicity.campaigns.events import CampaignClosed, CampaignOpened
from publicity.campaigns.models import CampaignCreate, PinChange
from publicity.common import SOURCE, as_utc, invalid, not_found, now, rule_refused
from publicity.public_events import store as event_store


async def plan(ctx: ServiceContext, data: CampaignCreate, caller: Principal,
               idempotency_key: str | None) -> tuple[Document, bool]:
    try:
        check_dates(data.starts_on, data.ends_on)
    except CampaignRuleError as exc:
        raise invalid("#/ends_on", str(exc)) from exc
    at = now()
    body = data.model_dump(mode="json")
    doc: Document = {
        "_id": f"CAMP-{uuid.uuid4().hex[:16]}", **body, "status": CampaignStatus.PLANNED.value, "pins": {},
        "version": 1, "created_at": at, "updated_at": at,
        "creation_key": creation_key(caller.subject, idempotency_key), "creation_fingerprint": fingerprint(body),
    }
    stored_id, created = await aggregates.create_or_replay(ctx.db, store.AGGREGATE, doc)
    return await find(ctx.db, stored_id), created


async def find(db: Database, campaign_id: str) -> Document:
    doc = await store.get(db, campaign_id)
    if doc is None:
        raise not_found("campaign", campaign_id)
    return doc


def _event_fields(doc: Document) -> dict[str, Any]:
    return {"campaign_id": doc["_id"], "name": doc["name"], "theme": doc["theme"],
            "starts_on": date.fromisoformat(doc["starts_on"]), "ends_on": date.fromisoformat(doc["ends_on"]),
            "organisers": list(doc["organisers"]), "occurred_at": now()}


async def change_status(ctx: ServiceContext, campaign_id: str, to: CampaignStatus, expected_version: int) -> Document:
    async with aggregates.change(ctx.db, store.AGGREGATE, campaign_id) as unit:
        doc = unit.document
        if doc is None:
            raise not_found("campaign", campaign_id)
        if unit.check_version(expected_version):
            return await find(ctx.db, campaign_id)
        try:
            check_transition(CampaignStatus(doc["status"]), to)
        except CampaignRuleError as exc:
            raise rule_refused(str(exc), kind="campaign-state") from exc
        event: CampaignOpened | CampaignClosed
        if to is CampaignStatus.OPEN:
            event = CampaignOpened(**_event_fields(doc))
        else:
            totals = (await overview(ctx.db, doc))["totals"]
            event = CampaignClosed(**_event_fields(doc), fairs=totals["fairs"], fair_deals=totals["fair_deals"],
                                   fair_deal_amount_fen=totals["fair_deal_amount_fen"])
        await unit.write({"$set": {"status": to.value, "updated_at": now()}},
                         [CloudEvent.new(SOURCE, campaign_id, event)])
    return await find(ctx.db, campaign_id)


async def pin(ctx: ServiceContext, campaign_id: str, data: PinChange, caller: Principal,
              expected_version: int) -> Document:
    async with aggregates.change(ctx.db, store.AGGREGATE, campaign_id) as unit:
        doc = unit.document
        if doc is None:
            raise not_found("campaign", campaign_id)
        if unit.check_version(expected_version):
            return await find(ctx.db, campaign_id)
        if doc["status"] == CampaignStatus.CLOSED.value:
            raise rule_refused("the campaign is closed; its page no longer changes", kind="campaign-state")
        key = f"{data.kind}:{data.item_id}"
        await unit.write({"$set": {f"pins.{key}": {"shown": data.shown, "by": caller.subject, "at": now()},
                                   "updated_at": now()}})
    return await find(ctx.db, campaign_id)


def pins_of(doc: Document) -> list[dict[str, Any]]:
    out = []
    for key, pin in sorted((doc.get("pins") or {}).items()):
        kind, _, item_id = key.partition(":")
        out.append({"kind": kind, "item_id": item_id, **pin})
    return out


async def overview(db: Database, doc: Document) -> dict[str, Any]:
    """The campaign's page: the projected fairs inside its dates (or pinned, unless unpinned) and the
    live totals, computed at read time from the projection so they cannot drift."""
    starts, ends = date.fromisoformat(doc["starts_on"]), date.fromisoformat(doc["ends_on"])
    pins = doc.get("pins") or {}
    items: list[dict[str, Any]] = []
    deals = amount = 0
    for fair in await fairs.all_fairs(db):
        f_start, f_end = date.fromisoformat(fair["starts_on"]), date.fromisoformat(fair["ends_on"])
        pin = pins.get(f"fair:{fair['_id']}")
        if not listed(overlaps(starts, ends, f_start, f_end), None if pin is None else bool(pin["shown"])):
            continue
        figures = fair.get("figures")
        if figures:
            deals += int(figures["licences"]) + int(figures["transfers"]) + int(figures["pledges"])
            amount += int(figures["total_amount_fen"])
        items.append({"kind": "fair", "id": fair["_id"], "title": fair["name"], "starts_on": f_start,
                      "ends_on": f_end, "venue": fair.get("venue"), "region_code": fair.get("region_code"),
                      "status": fair["status"], "pinned": bool(pin and pin["shown"]), "figures": figures})
    fairs_listed = len(items)
    for session in await sessions.all_sessions(db):
        s_start, s_end = as_utc(session["starts_at"]).date(), as_utc(session["ends_at"]).date()
        pin = pins.get(f"session:{session['_id']}")
        if listed(overlaps(starts, ends, s_start, s_end), None if pin is None else bool(pin["shown"])):
            items.append({"kind": "session", "id": session["_id"], "title": session["course_title"],
                          "starts_on": s_start, "ends_on": s_end, "venue": session.get("venue"), "region_code": None,
                          "status": "scheduled", "pinned": bool(pin and pin["shown"]), "figures": None})
    registrations = check_ins = 0
    events = await event_store.page(db, {"campaign_id": doc["_id"]}, None, 500)
    for event in events:
        counts = event.get("counts") or {}
        registrations += int(counts.get("confirmed", 0))
        check_ins += await event_store.checked_in(db, event["_id"])
        starts_at, ends_at = as_utc(event["starts_at"]), as_utc(event["ends_at"])
        items.append({"kind": "event", "id": event["_id"], "title": event["title"], "starts_on": starts_at.date(),
                      "ends_on": ends_at.date(), "venue": event.get("venue"), "region_code": event.get("region_code"),
                      "status": "scheduled", "pinned": False, "figures": None})
    items.sort(key=lambda i: (i["starts_on"], i["id"]))
    totals = {"fairs": fairs_listed, "sessions": sum(1 for i in items if i["kind"] == "session"),
              "fair_deals": deals, "fair_deal_amount_fen": amount, "events": len(events),
              "registrations": registrations, "check_ins": check_ins,
              **await activities.campaign_figures(db, doc["_id"])}
    return {"items": items, "totals": totals}
