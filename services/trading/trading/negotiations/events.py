"""Integration events trading publishes about offers (topic trading.events, key = negotiation id).

Offers happen between two parties and stay private to them on the API; the events carry what the
platform's figures and the fair's statistics need (who, what kind of deal, how much), not the full
terms. `fair_id` is set when the negotiation happens at a fair.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class OfferEvent(EventPayload):
    negotiation_id: str
    listing_id: str
    application_number: str
    offer_number: int
    deal_type: str
    owner_organisation_id: str
    counterparty_organisation_id: str
    made_by_organisation_id: str
    upfront_fee_fen: int
    royalty_rate_percent: Decimal
    fair_id: str | None
    occurred_at: datetime


class OfferMade(OfferEvent):
    """An offer or counter-offer was made in a negotiation."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.offer.made.v1"

    valid_until: datetime


class OfferAccepted(OfferEvent):
    """The current offer of a negotiation was accepted; the parties may now sign."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.offer.accepted.v1"

    accepted_by_organisation_id: str
