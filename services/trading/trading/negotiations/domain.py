"""Negotiation between a listing's owner side and one counterparty. Pure rules, no I/O.

    open --(counter-offer by the side that received the current offer)--> open
    open --accept / reject (by the side that received the current offer)--> accepted / rejected
    open --withdraw (by the side that made the current offer)--> withdrawn
    open --(the current offer's valid_until passes)--> expired
    accepted --sign--> signed (a licence, or for an assignment a transfer application, exists)

Expiry is enforced twice: every read or action first applies it (so nobody can accept an offer
whose time has passed, even between sweeps), and a periodic sweep in the API process moves
negotiations whose offer ran out, so lists, statistics and events do not wait for someone to look.

Sides: the owner side is the listing's owner organisation or its named agent organisation; the
counterparty is the organisation that opened the negotiation. Nobody else may see it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class NegotiationStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    SIGNED = "signed"


class Side(StrEnum):
    OWNER = "owner"
    COUNTERPARTY = "counterparty"

    @property
    def other(self) -> Side:
        return Side.COUNTERPARTY if self is Side.OWNER else Side.OWNER


class Action(StrEnum):
    COUNTER = "counter"
    ACCEPT = "accept"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    SIGN = "sign"


ENDED = frozenset({NegotiationStatus.REJECTED, NegotiationStatus.WITHDRAWN, NegotiationStatus.EXPIRED,
                   NegotiationStatus.SIGNED})


class NegotiationRuleError(ValueError):
    """An action the negotiation's state or the caller's side does not allow; the message says why."""


def side_of(organisation_id: str | None, owner_organisation_id: str, agent_organisation_id: str | None,
            counterparty_organisation_id: str) -> Side | None:
    """Which side an organisation is on, or None for anyone else (who must not learn it exists)."""
    if organisation_id is None:
        return None
    if organisation_id in (owner_organisation_id, agent_organisation_id):
        return Side.OWNER
    if organisation_id == counterparty_organisation_id:
        return Side.COUNTERPARTY
    return None


def is_expired(status: NegotiationStatus, valid_until: datetime, now: datetime) -> bool:
    return status is NegotiationStatus.OPEN and now >= valid_until


def after(action: Action, status: NegotiationStatus, caller: Side, current_offer_by: Side) -> NegotiationStatus:
    """The status after `caller` takes `action`; raises NegotiationRuleError when it may not."""
    if action is Action.SIGN:
        if status is not NegotiationStatus.ACCEPTED:
            raise NegotiationRuleError(f"only an accepted offer can be signed; this negotiation is {status.value}")
        return NegotiationStatus.SIGNED
    if status is not NegotiationStatus.OPEN:
        raise NegotiationRuleError(f"the negotiation is {status.value}; nothing more can be offered or answered")
    if action is Action.WITHDRAW:
        if caller is not current_offer_by:
            raise NegotiationRuleError("only the side that made the current offer can withdraw it")
        return NegotiationStatus.WITHDRAWN
    if caller is current_offer_by:
        raise NegotiationRuleError("the current offer is yours; wait for the other side to answer it")
    return {Action.COUNTER: NegotiationStatus.OPEN, Action.ACCEPT: NegotiationStatus.ACCEPTED,
            Action.REJECT: NegotiationStatus.REJECTED}[action]
