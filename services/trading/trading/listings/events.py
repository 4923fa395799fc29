"""Integration events the catalogue publishes about listings (its public contract on trading.events).

They carry what a consumer needs to act without asking trading: publicity can announce a listing, the
trading worker can match it against demands, a fair's statistics can count it.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload

from trading.listings.domain import DealType, Industry
from trading.patents.identifiers import PatentKind


class ListingPublished(EventPayload):
    """A listing became visible to everyone (search, fairs, matchmaking)."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.listing.published.v1"

    listing_id: str
    application_number: str
    patent_kind: PatentKind
    title: str
    owner_organisation_id: str
    agent_organisation_id: str | None
    ipc_codes: list[str]
    industry: Industry
    region_code: str
    deal_types: list[DealType]
    price_fen: int | None
    version: int
    occurred_at: datetime


class ListingWithdrawn(EventPayload):
    """The owner took a listing off the market (from draft or published)."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.listing.withdrawn.v1"

    listing_id: str
    application_number: str
    owner_organisation_id: str
    was_published: bool
    version: int
    occurred_at: datetime
