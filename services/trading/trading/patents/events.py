"""Integration events trading publishes about patents (topic trading.events, key = application number).

They carry ownership as the IPO verified it, so other services (publicity naming an owner, the
registry counting an organisation's patents) never take a listing's word for it. Claims and evidence
stay private: an event names the organisations and the decision, not what they submitted.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class PatentOwnershipClaimed(EventPayload):
    """An organisation claimed a patent; `contested` when another unverified claim is on it too."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.patent.ownership_claimed.v1"

    application_number: str
    organisation_id: str
    contested: bool
    occurred_at: datetime


class PatentOwnershipVerified(EventPayload):
    """An IPO officer verified a claim: the organisation is the patent's owner."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.patent.ownership_verified.v1"

    application_number: str
    owner_organisation_id: str
    verified_by: str
    occurred_at: datetime


class PatentClaimRejected(EventPayload):
    """An IPO officer rejected a claim (with a reason), or verifying another claim rejected it."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.patent.claim_rejected.v1"

    application_number: str
    organisation_id: str
    reason: str
    occurred_at: datetime


class PatentOwnershipTransferred(EventPayload):
    """A registered assignment moved the verified owner."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.patent.ownership_transferred.v1"

    application_number: str
    transfer_id: str
    previous_owner_organisation_id: str | None
    owner_organisation_id: str
    occurred_at: datetime


class PatentTermExtended(EventPayload):
    """An officer recorded a term extension with its legal basis."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.patent.term_extended.v1"

    application_number: str
    days: int
    legal_basis: str
    reference: str
    extension_days_total: int
    occurred_at: datetime
    recorded_on: date
