"""Training's projection of the registry's talents, fed only by the registry's talent events.

Training never asks the registry who may enrol: it keeps each talent's public snapshot here. A
snapshot is applied once (idempotent consumer) and only when newer than the one held, so a
redelivered or late, older event changes nothing.

The worker writes ONLY this collection (and inserts follow-ups, below). Sessions and their
enrolments are written only by the API process, because FerretDB applies an update as read, modify,
replace: a second process updating a session document could silently undo the API's change. So when
a talent is removed, the worker inserts a follow-up document (`_id` = talent id + snapshot version,
an insert is atomic on both stores and a repeat collides harmlessly) BEFORE it applies the snapshot,
and the API's follow-up loop cancels the open enrolments under its per-document locks and then
deletes the follow-up. Inserting first means a crash between the two steps cannot lose the
follow-up: the redelivered event inserts it again (or finds it), and applying it twice is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import ClassVar

from pymongo.errors import DuplicateKeyError
from servicekit.auth import Principal
from servicekit.consumer import EventHandlers
from servicekit.events.envelope import EVENT_TYPE_PREFIX, CloudEvent, ConsumedPayload
from servicekit.mongo import Collection, Database, Document, IndexSpec, apply_once

from training.talents.domain import cancels_open_enrolments

COLLECTION = "talents"
FOLLOW_UPS = "talent_follow_ups"
REGISTRY_TOPIC = "registry.events"

INDEXES: tuple[IndexSpec, ...] = ()  # every read is by `_id`


class TalentSnapshotV1(ConsumedPayload):
    """What training reads of the registry's talent snapshot events (tolerant reader)."""

    talent_id: str
    registration_number: str
    name: str
    employer_organisation_id: str
    region_code: str
    categories: list[str]
    level: str | None
    status: str
    version: int
    occurred_at: datetime
    account_subject: str | None = None


class TalentRegisteredV1(TalentSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.registered.v1"


class TalentUpdatedV1(TalentSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.updated.v1"


class TalentStatusChangedV1(TalentSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.status_changed.v1"
    reason: str


class TalentCertifiedV1(TalentSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.certified.v1"


async def get(db: Database, talent_id: str) -> Document | None:
    return await db[COLLECTION].find_one({"_id": talent_id}, {"applied_events": 0})


def is_the_talent(caller: Principal, talent_id: str, talent: Document | None) -> bool:
    """Whether the caller is the talent itself: its token's subject is the login the registry bound to
    the talent (carried by the talent events), or, for logins issued by registration number, the
    talent id itself."""
    if caller.subject == talent_id:
        return True
    return talent is not None and talent.get("account_subject") is not None \
        and talent["account_subject"] == caller.subject


async def acts_as_talent(db: Database, caller: Principal, talent_id: str) -> bool:
    if caller.subject == talent_id:
        return True
    return is_the_talent(caller, talent_id, await get(db, talent_id))


async def statuses(db: Database, talent_ids: list[str]) -> dict[str, str]:
    """The projected status of each of these talents (absent: unknown to training)."""
    # One `_id` read each, concurrently: FerretDB serves only an exact `{_id: value}` filter from its
    # index (`$in` on _id reads the whole collection).
    found = await asyncio.gather(*(db[COLLECTION].find_one({"_id": t}, {"status": 1}) for t in talent_ids))
    return {doc["_id"]: doc["status"] for doc in found if doc is not None}


async def _note_follow_up(follow_ups: Collection, payload: TalentSnapshotV1, reason: str | None) -> None:
    # A DuplicateKeyError means an earlier delivery of the same event noted it already.
    with contextlib.suppress(DuplicateKeyError):
        await follow_ups.insert_one({"_id": f"{payload.talent_id}:{payload.version}", "talent_id": payload.talent_id,
                                     "version": payload.version, "status": payload.status, "reason": reason or "",
                                     "noted_at": datetime.now(UTC)})


def register_handlers(handlers: EventHandlers) -> None:
    """Subscribe the projection to the registry's talent events."""

    async def apply_snapshot(db: Database, event: CloudEvent, payload: TalentSnapshotV1) -> bool:
        reason = payload.reason if isinstance(payload, TalentStatusChangedV1) else None
        if cancels_open_enrolments(payload.status):
            await _note_follow_up(db[FOLLOW_UPS], payload, reason)
        fields: dict[str, object] = {
            "registration_number": payload.registration_number, "name": payload.name,
            "employer_organisation_id": payload.employer_organisation_id, "region_code": payload.region_code,
            "categories": list(payload.categories), "level": payload.level, "status": payload.status,
            "version": payload.version, "occurred_at": payload.occurred_at, "projected_at": datetime.now(UTC),
            "account_subject": payload.account_subject,
        }
        if reason is not None:
            fields["status_reason"] = reason
        return await apply_once(db[COLLECTION], payload.talent_id, event.id, {"$set": fields},
                                newer_than=("version", payload.version),
                                likely_new=isinstance(payload, TalentRegisteredV1))

    for payload in (TalentRegisteredV1, TalentUpdatedV1, TalentStatusChangedV1, TalentCertifiedV1):
        handlers.on(REGISTRY_TOPIC, payload)(apply_snapshot)
