"""Use cases for activities: submission by a participating unit, review by an officer, resubmission
after a return, and the reach report that feeds the campaign's totals."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal, Role
from servicekit.http import creation_key, fingerprint
from servicekit.mongo import Database, Document
from servicekit.service import ServiceContext

from publicity.activities import store
from publicity.activities.domain import (
    ActivityRuleError,
    ActivityState,
    check_report,
    check_resubmit,
    check_review,
    check_venue,
)
from publicity.activities.models import ActivityCreate, ReachReport
from publicity.campaigns import store as campaigns
from publicity.common import invalid, not_found, now, rule_refused
from publicity.milestones.handlers import ORGANISATIONS


def is_officer(caller: Principal) -> bool:
    return caller.has_any((Role.OFFICER,))


def may_see(doc: Document, caller: Principal) -> bool:
    return is_officer(caller) or (caller.organisation_id is not None
                                  and caller.organisation_id == doc["responsible_unit"])


async def _checked(db: Database, data: ActivityCreate, caller: Principal) -> dict[str, Any]:
    if not is_officer(caller) and caller.organisation_id != data.responsible_unit:
        raise invalid("#/responsible_unit", "a unit submits its own activities (the token's organisation)")
    problem = check_venue(data.format, data.venue)
    if problem:
        raise invalid("#/venue", problem)
    campaign = await campaigns.get(db, data.campaign_id)
    if campaign is None:
        raise invalid("#/campaign_id", f"no campaign {data.campaign_id}")
    if not (date.fromisoformat(campaign["starts_on"]) <= data.held_on <= date.fromisoformat(campaign["ends_on"])):
        raise invalid("#/held_on", f"the campaign runs from {campaign['starts_on']} to {campaign['ends_on']}")
    unit = await db[ORGANISATIONS].find_one({"_id": data.responsible_unit}, {"name": 1, "status": 1})
    if unit is None or unit.get("status") != "active":
        raise invalid("#/responsible_unit", f"{data.responsible_unit} is not an active organisation in the registry")
    body = data.model_dump(mode="json")
    body["responsible_unit_name"] = unit.get("name")
    return body


async def submit(ctx: ServiceContext, data: ActivityCreate, caller: Principal,
                 idempotency_key: str | None) -> tuple[Document, bool]:
    body = await _checked(ctx.db, data, caller)
    at = now()
    doc: Document = {
        "_id": f"ACT-{uuid.uuid4().hex[:16]}", **body, "state": ActivityState.SUBMITTED.value,
        "return_reason": None, "reach": None, "submitted_by": caller.subject, "version": 1, "created_at": at,
        "updated_at": at, "creation_key": creation_key(caller.subject, idempotency_key),
        "creation_fingerprint": fingerprint(data.model_dump(mode="json")),
    }
    stored_id, created = await aggregates.create_or_replay(ctx.db, store.AGGREGATE, doc)
    return await find(ctx.db, stored_id, caller), created


async def find(db: Database, activity_id: str, caller: Principal) -> Document:
    doc = await store.get(db, activity_id)
    if doc is None or not may_see(doc, caller):
        raise not_found("activity", activity_id)
    return doc


async def _change(ctx: ServiceContext, activity_id: str, caller: Principal, expected_version: int,
                  decide: Any) -> Document:
    def refusing(current: Document) -> aggregates.Decision:
        try:
            result: aggregates.Decision = decide(current)
        except ActivityRuleError as exc:
            raise rule_refused(str(exc), kind=exc.kind) from exc
        return result

    return await aggregates.change_at_version(
        ctx.db, store.AGGREGATE, activity_id, expected_version, refusing,
        not_found=lambda: not_found("activity", activity_id), visible=lambda d: may_see(d, caller))


async def accept(ctx: ServiceContext, activity_id: str, caller: Principal, expected_version: int) -> Document:
    def decide(current: Document) -> aggregates.Decision:
        check_review(ActivityState(current["state"]))
        return {"$set": {"state": ActivityState.ACCEPTED.value, "reviewed_by": caller.subject,
                         "updated_at": now()}}, []

    return await _change(ctx, activity_id, caller, expected_version, decide)


async def give_back(ctx: ServiceContext, activity_id: str, caller: Principal, expected_version: int,
                    reason: str) -> Document:
    def decide(current: Document) -> aggregates.Decision:
        check_review(ActivityState(current["state"]))
        return {"$set": {"state": ActivityState.RETURNED.value, "return_reason": reason,
                         "reviewed_by": caller.subject, "updated_at": now()}}, []

    return await _change(ctx, activity_id, caller, expected_version, decide)


async def resubmit(ctx: ServiceContext, activity_id: str, data: ActivityCreate, caller: Principal,
                   expected_version: int) -> Document:
    body = await _checked(ctx.db, data, caller)

    def decide(current: Document) -> aggregates.Decision:
        check_resubmit(ActivityState(current["state"]))
        if body["responsible_unit"] != current["responsible_unit"]:
            raise ActivityRuleError("the responsible unit of an activity does not change", kind="unit-fixed")
        return {"$set": {**body, "state": ActivityState.SUBMITTED.value, "updated_at": now()}}, []

    return await _change(ctx, activity_id, caller, expected_version, decide)


async def report(ctx: ServiceContext, activity_id: str, data: ReachReport, caller: Principal,
                 expected_version: int) -> Document:
    def decide(current: Document) -> aggregates.Decision:
        check_report(ActivityState(current["state"]), date.fromisoformat(current["held_on"]), now().date())
        return {"$set": {"reach": {**data.model_dump(mode="json"), "reported_by": caller.subject,
                                   "reported_at": now()}, "updated_at": now()}}, []

    return await _change(ctx, activity_id, caller, expected_version, decide)


async def campaign_figures(db: Database, campaign_id: str) -> dict[str, int]:
    """Accepted activities of a campaign and the reach they reported."""
    accepted = participants = views = expected = 0
    for doc in await store.page(db, {"campaign_id": campaign_id, "state": ActivityState.ACCEPTED.value}, None, 5000):
        accepted += 1
        expected += int(doc.get("expected_reach") or 0)
        reach = doc.get("reach") or {}
        participants += int(reach.get("participants", 0))
        views += int(reach.get("online_views", 0))
    return {"activities": accepted, "expected_reach": expected, "reached_participants": participants,
            "reached_online_views": views}
