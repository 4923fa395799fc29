"""The publicity worker's consumers: it keeps the registry's organisations (to describe deal parties)
and trading's fairs (campaigns/fairs.py), and drafts one news item per milestone.

One draft per milestone however often its event is delivered: the draft's `_id` is derived from the
milestone (`NEWS-licence-<licence id>`, `NEWS-talent-<talent>-<level>-<category>`, ...), and inserting
it is atomic, so a redelivery, or the same happening re-published under a new event id, collides and
drafts nothing. Drafts are never published automatically: they wait for an officer's review like any
release. Training's completions are counted per year (applied once per *enrolment*) and a draft is made
at every `completions_milestone_every`-th one, not one per person.

The worker only ever *inserts* releases; every later change is the API's (the one writing process of
an existing release document, see servicekit.aggregates).
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import ClassVar

from servicekit import aggregates
from servicekit.consumer import EventHandlers
from servicekit.events.envelope import EVENT_TYPE_PREFIX, CloudEvent, ConsumedPayload
from servicekit.mongo import Database, apply_once

from publicity.campaigns import fairs, sessions
from publicity.milestones import drafting
from publicity.releases import store as releases
from publicity.releases.service import new_document
from publicity.settings import PublicitySettings

log = logging.getLogger(__name__)

ORGANISATIONS = "organisations"
COUNTERS = "milestone_counters"
REGISTRY_TOPIC = "registry.events"
TRADING_TOPIC = "trading.events"
TRAINING_TOPIC = "training.events"
DRAFTED_BY = "system:milestones"


@functools.cache
def _settings() -> PublicitySettings:
    return PublicitySettings()


class OrganisationSnapshotV1(ConsumedPayload):
    organisation_id: str
    name: str
    kind: str
    region_code: str
    status: str
    version: int


class OrganisationRegisteredV1(OrganisationSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.organisation.registered.v1"


class OrganisationUpdatedV1(OrganisationSnapshotV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.organisation.updated.v1"


class TalentCertifiedV1(ConsumedPayload):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.certified.v1"

    talent_id: str
    registration_number: str
    name: str
    region_code: str
    certified_level: str
    certified_category: str


class DealV1(ConsumedPayload):
    application_number: str
    patent_title: str
    fair_id: str | None = None
    # Each party's consent to being named in publicity (trading, additive): both must be true.
    publicity_consent: bool | None = None


class LicenceSignedV1(DealV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.licence.signed.v1"

    licence_id: str
    licence_type: str
    licensor_organisation_id: str
    licensee_organisation_id: str
    upfront_fee_fen: int


class TransferRegisteredV1(DealV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.transfer.registered.v1"

    transfer_id: str
    assignor_organisation_id: str
    assignee_organisation_id: str
    price_fen: int


class PledgeRegisteredV1(DealV1):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.pledge.registered.v1"

    pledge_id: str
    pledgor_organisation_id: str
    pledgee_organisation_id: str
    amount_fen: int


class EnrolmentCompletedV1(ConsumedPayload):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.training.enrolment.completed.v1"

    enrolment_id: str
    completed_at: datetime


async def draft(db: Database, milestone: str, content: drafting.Draft) -> bool:
    """Insert the milestone's draft once; False when it was drafted before."""
    doc = new_document(release_id=f"NEWS-{milestone}", kind="news", content=content.content(),
                       created_by=DRAFTED_BY, origin="milestone", milestone=milestone, key=f"milestone:{milestone}")
    try:
        await aggregates.create(db, releases.AGGREGATE, doc, find_earlier=False)
    except aggregates.DuplicateCreation:
        return False
    return True


async def _party(db: Database, organisation_id: str) -> drafting.Party:
    doc = await db[ORGANISATIONS].find_one({"_id": organisation_id}, {"name": 1, "kind": 1, "region_code": 1})
    if doc is None:
        return drafting.Party(name=None, kind=None, region_code=None)
    return drafting.Party(name=doc.get("name"), kind=doc.get("kind"), region_code=doc.get("region_code"))


async def on_organisation(db: Database, event: CloudEvent, payload: OrganisationSnapshotV1) -> bool:
    fields = {"name": payload.name, "kind": payload.kind, "region_code": payload.region_code,
              "status": payload.status, "version": payload.version}
    return await apply_once(db[ORGANISATIONS], payload.organisation_id, event.id, {"$set": fields},
                            newer_than=("version", payload.version),
                            likely_new=isinstance(payload, OrganisationRegisteredV1))


async def on_talent_certified(db: Database, event: CloudEvent, payload: TalentCertifiedV1) -> bool:
    milestone = f"talent-{payload.talent_id}-{payload.certified_level}-{payload.certified_category}"
    return await draft(db, milestone, drafting.certified_draft(
        payload.name, payload.registration_number, payload.certified_level, payload.certified_category,
        payload.region_code))


async def on_deal(db: Database, event: CloudEvent, payload: DealV1) -> bool:
    consented = payload.publicity_consent is True
    if isinstance(payload, LicenceSignedV1):
        kind, deal_id, first, second, amount = ("licence", payload.licence_id, payload.licensor_organisation_id,
                                                payload.licensee_organisation_id, payload.upfront_fee_fen)
    elif isinstance(payload, TransferRegisteredV1):
        kind, deal_id, first, second, amount = ("transfer", payload.transfer_id, payload.assignor_organisation_id,
                                                payload.assignee_organisation_id, payload.price_fen)
    elif isinstance(payload, PledgeRegisteredV1):
        kind, deal_id, first, second, amount = ("pledge", payload.pledge_id, payload.pledgor_organisation_id,
                                                payload.pledgee_organisation_id, payload.amount_fen)
    else:  # pragma: no cover - registered for these three only
        return False
    content = drafting.deal_draft(kind, await _party(db, first), await _party(db, second),
                                  payload.application_number, payload.patent_title, amount, consented)
    return await draft(db, f"{kind}-{deal_id}", content)


async def on_fair_closed(db: Database, event: CloudEvent, payload: fairs.FairClosedV1) -> bool:
    projected = await fairs.project(db, event, payload)
    drafted = await draft(db, f"fair-{payload.fair_id}", drafting.fair_closed_draft(
        payload.name, payload.venue, payload.licences, payload.transfers, payload.pledges, payload.total_amount_fen,
        payload.listings_shown))
    return projected or drafted


async def on_completion(db: Database, event: CloudEvent, payload: EnrolmentCompletedV1) -> bool:
    """Count the year's completions (once per enrolment) and draft at every N-th."""
    year = payload.completed_at.year
    counter = f"completions-{year}"
    applied = await apply_once(db[COUNTERS], counter, payload.enrolment_id, {"$inc": {"count": 1}})
    doc = await db[COUNTERS].find_one({"_id": counter}, {"count": 1})
    every = max(_settings().completions_milestone_every, 1)
    count = int(doc["count"]) if doc else 0
    reached = count // every * every
    if reached >= every:
        await draft(db, f"completions-{year}-{reached}", drafting.completions_draft(year, reached))
    return applied


def register_handlers(handlers: EventHandlers) -> None:
    handlers.on(REGISTRY_TOPIC, OrganisationRegisteredV1)(on_organisation)
    handlers.on(REGISTRY_TOPIC, OrganisationUpdatedV1)(on_organisation)
    handlers.on(REGISTRY_TOPIC, TalentCertifiedV1)(on_talent_certified)
    handlers.on(TRADING_TOPIC, fairs.FairOpenedV1)(fairs.project)
    handlers.on(TRADING_TOPIC, fairs.FairClosedV1)(on_fair_closed)
    for deal in (LicenceSignedV1, TransferRegisteredV1, PledgeRegisteredV1):
        handlers.on(TRADING_TOPIC, deal)(on_deal)
    handlers.on(TRAINING_TOPIC, EnrolmentCompletedV1)(on_completion)
    sessions.register_handlers(handlers)

