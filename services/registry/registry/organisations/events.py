"""Integration events the registry publishes about organisations (its public contract).

Each event carries the organisation's full public snapshot, so consumers can keep a projection
without ever asking the registry; `version` lets them ignore an older snapshot arriving late.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload

from registry.organisations.domain import OrganisationKind, OrganisationStatus


class OrganisationSnapshot(EventPayload):
    organisation_id: str
    credit_code: str
    name: str
    kind: OrganisationKind
    region_code: str
    status: OrganisationStatus
    version: int
    occurred_at: datetime


class OrganisationRegistered(OrganisationSnapshot):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.organisation.registered.v1"


class OrganisationUpdated(OrganisationSnapshot):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.registry.organisation.updated.v1"
