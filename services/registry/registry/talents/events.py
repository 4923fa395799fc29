"""Integration events the registry publishes about talents (its public contract, topic registry.events,
key = talent id).

Every event carries the talent's PUBLIC snapshot, never contact details or anything derived from the
identity number; `version` bumps on every change so consumers can ignore a late, older snapshot.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload

from registry.talents.domain import TalentCategory, TalentLevel, TalentStatus


class TalentSnapshot(EventPayload):
    talent_id: str
    registration_number: str
    name: str
    employer_organisation_id: str
    region_code: str
    categories: list[TalentCategory]
    level: TalentLevel | None
    status: TalentStatus
    version: int
    occurred_at: datetime
    # The login subject bound to the talent, so other services recognise the talent's own token
    # (training: "my enrolments"). Not personal data: an identity-provider subject. Optional, additive.
    account_subject: str | None = None


class TalentRegistered(TalentSnapshot):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.registered.v1"


class TalentUpdated(TalentSnapshot):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.updated.v1"


class TalentStatusChanged(TalentSnapshot):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.status_changed.v1"

    reason: str


class TalentCertified(TalentSnapshot):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.talent.certified.v1"

    certified_level: TalentLevel
    certified_category: TalentCategory
    certificate_number: str
