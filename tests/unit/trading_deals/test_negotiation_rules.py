"""The negotiation state machine, sides and expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from trading.negotiations.domain import (
    Action,
    NegotiationRuleError,
    NegotiationStatus,
    Side,
    after,
    is_expired,
    side_of,
)

OPEN, OWNER, CP = NegotiationStatus.OPEN, Side.OWNER, Side.COUNTERPARTY


def test_sides_owner_agent_counterparty_and_nobody_else() -> None:
    assert side_of("OWN", "OWN", "AGT", "CP") is OWNER
    assert side_of("AGT", "OWN", "AGT", "CP") is OWNER
    assert side_of("CP", "OWN", "AGT", "CP") is CP
    assert side_of("THIRD", "OWN", "AGT", "CP") is None
    assert side_of(None, "OWN", None, "CP") is None
    assert side_of("AGT", "OWN", None, "CP") is None


@pytest.mark.parametrize(("action", "result"), [(Action.COUNTER, OPEN), (Action.ACCEPT, NegotiationStatus.ACCEPTED),
                                                (Action.REJECT, NegotiationStatus.REJECTED)])
def test_the_receiving_side_answers(action: Action, result: NegotiationStatus) -> None:
    assert after(action, OPEN, caller=OWNER, current_offer_by=CP) is result
    with pytest.raises(NegotiationRuleError, match="offer is yours"):
        after(action, OPEN, caller=CP, current_offer_by=CP)


def test_only_the_offering_side_withdraws() -> None:
    assert after(Action.WITHDRAW, OPEN, caller=CP, current_offer_by=CP) is NegotiationStatus.WITHDRAWN
    with pytest.raises(NegotiationRuleError, match="made the current offer"):
        after(Action.WITHDRAW, OPEN, caller=OWNER, current_offer_by=CP)


@pytest.mark.parametrize("status", [NegotiationStatus.ACCEPTED, NegotiationStatus.REJECTED,
                                    NegotiationStatus.WITHDRAWN, NegotiationStatus.EXPIRED, NegotiationStatus.SIGNED])
@pytest.mark.parametrize("action", [Action.COUNTER, Action.ACCEPT, Action.REJECT, Action.WITHDRAW])
def test_nothing_moves_a_closed_negotiation(status: NegotiationStatus, action: Action) -> None:
    with pytest.raises(NegotiationRuleError, match=status.value):
        after(action, status, caller=OWNER, current_offer_by=CP)


def test_only_an_accepted_negotiation_is_signed() -> None:
    assert after(Action.SIGN, NegotiationStatus.ACCEPTED, OWNER, CP) is NegotiationStatus.SIGNED
    assert after(Action.SIGN, NegotiationStatus.ACCEPTED, CP, CP) is NegotiationStatus.SIGNED
    for status in (OPEN, NegotiationStatus.SIGNED, NegotiationStatus.EXPIRED):
        with pytest.raises(NegotiationRuleError, match="only an accepted offer"):
            after(Action.SIGN, status, OWNER, CP)


def test_an_open_offer_expires_at_its_valid_until() -> None:
    until = datetime(2027, 3, 1, 12, tzinfo=UTC)
    assert not is_expired(OPEN, until, until - timedelta(seconds=1))
    assert is_expired(OPEN, until, until)
    assert not is_expired(NegotiationStatus.ACCEPTED, until, until + timedelta(days=1))
