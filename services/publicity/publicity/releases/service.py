"""Use cases for releases: the editorial workflow, the embargo and its self-repairing scheduler."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint, generated_creation_key
from servicekit.mongo import Database, Document
from servicekit.service import ServiceContext

from publicity import metrics
from publicity.common import SOURCE, as_utc, not_found, now, rule_refused
from publicity.feeds import store as feed
from publicity.releases import store
from publicity.releases.domain import (
    Action,
    ReleaseRuleError,
    ReleaseState,
    check_embargo,
    check_force_approval,
    check_second_person,
    is_due,
    next_state,
)
from publicity.releases.events import ReleasePublished, ReleaseWithdrawn
from publicity.releases.models import ReleaseContent, ReleaseCreate
from publicity.settings import PublicitySettings

SYSTEM = "system:scheduler"

log = logging.getLogger(__name__)


def _refused(exc: ReleaseRuleError) -> Exception:
    return rule_refused(str(exc), kind=exc.kind)


def new_document(*, release_id: str, kind: str, content: dict[str, Any], created_by: str, origin: str,
                 milestone: str | None = None, key: str | None = None, body_fingerprint: str | None = None
                 ) -> Document:
    at = now()
    return {
        "_id": release_id, "kind": kind, "origin": origin, "milestone": milestone,
        "state": ReleaseState.DRAFT.value, "edition": 1, "content": content, "change_note": None,
        "submitted_by": None, "scheduled_for": None, "forced": None, "public": None, "public_listed": False,
        "history": [{"edition": 1, "action": "create", "state": ReleaseState.DRAFT.value, "by": created_by,
                     "at": at, "note": None}],
        "version": 1, "created_by": created_by, "created_at": at, "updated_at": at,
        "creation_key": key or generated_creation_key(), "creation_fingerprint": body_fingerprint or "",
    }


async def create(ctx: ServiceContext, data: ReleaseCreate, caller: Principal,
                 idempotency_key: str | None) -> tuple[Document, bool]:
    body = data.model_dump(mode="json")
    content = {k: v for k, v in body.items() if k != "kind"}
    doc = new_document(release_id=f"PR-{uuid.uuid4().hex[:16]}", kind=data.kind, content=content,
                       created_by=caller.subject, origin="officer",
                       key=creation_key(caller.subject, idempotency_key), body_fingerprint=fingerprint(body))
    stored_id, created = await aggregates.create_or_replay(ctx.db, store.AGGREGATE, doc)
    return await find(ctx.db, stored_id), created


async def find(db: Database, release_id: str) -> Document:
    doc = await store.get(db, release_id)
    if doc is None:
        raise not_found("release", release_id)
    return doc


async def find_public(db: Database, release_id: str) -> Document:
    """Only what has been published; before its embargo a release does not exist for the public."""
    doc = await store.get(db, release_id)
    if doc is None or not doc.get("public"):
        raise not_found("release", release_id)
    return doc


def _history(doc: Document, action: str, state: ReleaseState, by: str, at: datetime,
             note: str | None = None) -> list[Document]:
    return [*doc.get("history", []), {"edition": doc["edition"], "action": action, "state": state.value,
                                      "by": by, "at": at, "note": note}]


def _publication(doc: Document, at: datetime, *, forced: bool) -> tuple[dict[str, Any], CloudEvent]:
    """The fields and event of making the working edition public (first edition or a new one that
    supersedes what the public saw)."""
    content = doc["content"]
    previous = doc.get("public")
    first = as_utc(previous["first_published_at"]) if previous else at
    public = {**content, "edition": doc["edition"], "first_published_at": first, "updated_at": at,
              "change_note": doc.get("change_note"), "withdrawn": None}
    fields = {"public": public, "public_listed": True, "public_updated_at": at, "scheduled_for": None}
    event = CloudEvent.new(SOURCE, doc["_id"], ReleasePublished(
        release_id=doc["_id"], kind=doc["kind"], edition=doc["edition"], title=content["title"],
        title_en=content.get("title_en"), campaign_id=content.get("campaign_id"), forced=forced,
        scheduled_for=doc.get("scheduled_for"), published_at=at))
    return fields, event


async def act(ctx: ServiceContext, release_id: str, action: Action, caller: Principal, expected_version: int, *,
              note: str | None = None, publish_at: datetime | None = None,
              content: ReleaseContent | None = None) -> Document:
    """Every officer action on a release: one unit of work, with the state rule, the two-person rule,
    the schedule marker and the events."""
    settings = ctx.settings
    assert isinstance(settings, PublicitySettings)
    async with aggregates.change(ctx.db, store.AGGREGATE, release_id) as unit:
        doc = unit.document
        if doc is None:
            raise not_found("release", release_id)
        if unit.check_version(expected_version):
            return await find(ctx.db, release_id)
        state = ReleaseState(doc["state"])
        at = now()
        try:
            to = next_state(state, action)
            check_second_person(action, caller.subject, doc.get("submitted_by"))
            if action is Action.SCHEDULE:
                assert publish_at is not None
                check_embargo(publish_at, at, timedelta(seconds=settings.min_embargo_seconds))
        except ReleaseRuleError as exc:
            raise _refused(exc) from exc
        fields: dict[str, Any] = {"state": to.value, "updated_at": at}
        events: list[CloudEvent] = []
        if action is Action.EDIT:
            assert content is not None
            fields["content"] = content.model_dump(mode="json")
        elif action is Action.SUBMIT:
            fields["submitted_by"] = caller.subject
        elif action is Action.SCHEDULE:
            fields["scheduled_for"] = publish_at
            assert publish_at is not None
            await store.mark_scheduled(ctx.db, release_id, publish_at, doc["edition"])
        elif action is Action.UNSCHEDULE:
            fields["scheduled_for"] = None
        elif action in (Action.PUBLISH, Action.FORCE_PUBLISH):
            forced = action is Action.FORCE_PUBLISH
            published, event = _publication(doc, at, forced=forced)
            fields |= published
            events.append(event)
            if forced:
                fields["forced"] = {"by": caller.subject, "reason": note, "at": at, "approved_by": None,
                                    "approved_at": None}
        elif action is Action.WITHDRAW:
            assert note is not None
            fields["public.withdrawn"] = {"explanation": note, "at": at}
            fields["public.updated_at"] = at
            fields["public_updated_at"] = at
            events.append(CloudEvent.new(SOURCE, release_id, ReleaseWithdrawn(
                release_id=release_id, kind=doc["kind"], edition=doc["public"]["edition"], explanation=note,
                withdrawn_at=at)))
        elif action is Action.NEW_EDITION:
            fields |= {"edition": doc["edition"] + 1, "change_note": note, "submitted_by": None, "forced": None}
        if "public" in fields or "public.withdrawn" in fields:
            await feed.mark(ctx.db, release_id)  # before the write: a crash leaves work to repair
        history_doc = {**doc, "edition": fields.get("edition", doc["edition"])}
        fields["history"] = _history(history_doc, action.value, to, caller.subject, at, note)
        await unit.write({"$set": fields}, events)
    if action in (Action.UNSCHEDULE, Action.FORCE_PUBLISH, Action.PUBLISH):
        await store.drop_schedule(ctx.db, release_id)
    after = await find(ctx.db, release_id)
    if events:
        await feed.fold(ctx.db, [after])
        metrics.release_changed(action.value)
    return after


async def approve_forced(ctx: ServiceContext, release_id: str, caller: Principal, expected_version: int) -> Document:
    async with aggregates.change(ctx.db, store.AGGREGATE, release_id) as unit:
        doc = unit.document
        if doc is None:
            raise not_found("release", release_id)
        if unit.check_version(expected_version):
            return await find(ctx.db, release_id)
        forced = doc.get("forced") or {}
        try:
            check_force_approval(forced.get("by"), forced.get("approved_by"), caller.subject)
        except ReleaseRuleError as exc:
            raise _refused(exc) from exc
        at = now()
        await unit.write({"$set": {"forced.approved_by": caller.subject, "forced.approved_at": at,
                                   "updated_at": at,
                                   "history": _history(doc, "approve_force_publish", ReleaseState(doc["state"]),
                                                       caller.subject, at)}})
    return await find(ctx.db, release_id)


async def publish_due(ctx: ServiceContext, release_id: str) -> bool:
    """Publish a scheduled release whose embargo has passed; idempotent (a release already published,
    unscheduled or rescheduled later is left alone). Returns True when it published now."""
    published = False
    async with aggregates.change(ctx.db, store.AGGREGATE, release_id) as unit:
        doc = unit.document
        if doc is not None:
            scheduled_for = as_utc(doc["scheduled_for"]) if doc.get("scheduled_for") else None
            at = now()
            if is_due(ReleaseState(doc["state"]), scheduled_for, at):
                assert scheduled_for is not None
                fields, event = _publication(doc, at, forced=False)
                fields |= {"state": ReleaseState.PUBLISHED.value, "updated_at": at,
                           "history": _history(doc, "publish_on_schedule", ReleaseState.PUBLISHED, SYSTEM, at)}
                await feed.mark(ctx.db, release_id)
                await unit.write({"$set": fields}, [event])
                metrics.publish_lateness().observe(max((at - scheduled_for).total_seconds(), 0.0))
                metrics.release_changed("publish_on_schedule")
                published = True
            elif doc["state"] == ReleaseState.SCHEDULED.value and scheduled_for is not None:
                return False  # not yet due: keep the marker
    if published:
        await feed.fold(ctx.db, [await find(ctx.db, release_id)])
    await store.drop_schedule(ctx.db, release_id)
    return published


async def repair_feed(ctx: ServiceContext) -> int:
    """Fold into the feed what a crashed request left marked."""
    marked = await feed.pending(ctx.db)
    found = [d for d in [await store.get(ctx.db, r) for r in marked] if d is not None]
    if marked:
        await feed.fold(ctx.db, found)
        for missing in set(marked) - {d["_id"] for d in found}:
            await ctx.db[feed.PENDING].delete_one({"_id": missing})
    return len(marked)


async def run_scheduler(ctx: ServiceContext) -> int:
    """Publish everything due. Runs at start-up and every second (servicekit.background): the markers
    are the truth about what is due, so a release that fell due while no process ran is published at the
    next start. The overdue gauge counts what is due and still unpublished, set before publishing is
    tried (so a scheduler that fails keeps it up for the alert) and again after."""
    at = now()
    due = [m["_id"] for m in await store.scheduled(ctx.db) if as_utc(m["due_at"]) <= at]
    metrics.gauges().overdue.set(len(due))
    published = 0
    left = 0
    for release_id in due:
        try:
            published += await publish_due(ctx, release_id)
        except Exception:
            log.exception("could not publish scheduled release %s; next run retries", release_id)
        if await ctx.db[store.SCHEDULE].find_one({"_id": release_id}) is not None:
            left += 1
    metrics.gauges().overdue.set(left)
    await repair_feed(ctx)
    return published


async def next_embargo(db: Database) -> datetime | None:
    """The earliest pending embargo, so no feed or public page is cached past it."""
    markers: Sequence[Document] = await store.scheduled(db)
    return min((as_utc(m["due_at"]) for m in markers), default=None)
