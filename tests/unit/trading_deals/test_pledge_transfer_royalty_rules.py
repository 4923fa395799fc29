"""Pledge consent and registration, transfers blocked by an active pledge, royalty periods and amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from trading.licences.royalties import Period, PeriodError, check_reportable, royalty_due_fen
from trading.pledges.domain import (
    PledgeRuleError,
    PledgeStatus,
    blocking_pledge,
    check_consent,
    check_registrable,
    check_releasable,
    missing_consents,
)
from trading.transfers.domain import TransferRuleError, TransferStatus
from trading.transfers.domain import check_registrable as transfer_registrable


def test_every_co_owner_must_consent_before_registration() -> None:
    co_owners = ["B", "C"]
    assert missing_consents(co_owners, {}) == ["B", "C"]
    with pytest.raises(PledgeRuleError, match="missing: B, C"):
        check_registrable(PledgeStatus.REQUESTED, co_owners, {})
    with pytest.raises(PledgeRuleError, match="missing: C"):
        check_registrable(PledgeStatus.REQUESTED, co_owners, {"B": "2026-11-24"})
    check_registrable(PledgeStatus.REQUESTED, co_owners, {"B": "x", "C": "y"})
    check_registrable(PledgeStatus.REQUESTED, [], {})  # a sole owner needs nobody's consent


def test_consent_only_from_co_owners_and_only_before_registration() -> None:
    check_consent(PledgeStatus.REQUESTED, ["B"], "B")
    with pytest.raises(PledgeRuleError, match="not a co-owner"):
        check_consent(PledgeStatus.REQUESTED, ["B"], "Z")
    with pytest.raises(PledgeRuleError, match="registered"):
        check_consent(PledgeStatus.REGISTERED, ["B"], "B")


def test_registration_and_release_follow_the_lifecycle() -> None:
    with pytest.raises(PledgeRuleError):
        check_registrable(PledgeStatus.REGISTERED, [], {})
    check_releasable(PledgeStatus.REGISTERED)
    for status in (PledgeStatus.REQUESTED, PledgeStatus.RELEASED, PledgeStatus.CANCELLED):
        with pytest.raises(PledgeRuleError):
            check_releasable(status)


def test_an_active_pledge_blocks_a_transfer() -> None:
    assert blocking_pledge([]) is None
    assert blocking_pledge(["PLG-2", "PLG-1"]) == "PLG-1"
    with pytest.raises(TransferRuleError, match="PLG-1"):
        transfer_registrable(TransferStatus.APPLIED, "PLG-1")
    transfer_registrable(TransferStatus.APPLIED, None)
    with pytest.raises(TransferRuleError, match="registered"):
        transfer_registrable(TransferStatus.REGISTERED, None)


@pytest.mark.parametrize(("text", "first", "last"), [
    ("2026-09", date(2026, 9, 1), date(2026, 9, 30)), ("2026-q1", date(2026, 1, 1), date(2026, 3, 31)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29)), ("2025", date(2025, 1, 1), date(2025, 12, 31)),
])
def test_periods(text: str, first: date, last: date) -> None:
    period = Period.parse(text)
    assert (period.first_day, period.last_day) == (first, last)


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q5", "26-09", "2026/09", "next year"])
def test_bad_periods(bad: str) -> None:
    with pytest.raises(PeriodError):
        Period.parse(bad)


def test_only_ended_periods_within_the_term_are_reportable() -> None:
    term = (date(2026, 3, 1), date(2026, 12, 31))
    check_reportable(Period.parse("2026-Q1"), *term, today=date(2026, 11, 24))
    with pytest.raises(PeriodError, match="not ended"):
        check_reportable(Period.parse("2026-11"), *term, today=date(2026, 11, 24))
    with pytest.raises(PeriodError, match="outside the licence term"):
        check_reportable(Period.parse("2025-12"), *term, today=date(2026, 11, 24))


def test_royalty_due_is_rounded_half_up_to_the_fen() -> None:
    assert royalty_due_fen(1_000_000, Decimal("3.5")) == 35_000
    assert royalty_due_fen(1, Decimal("50")) == 1  # 0.5 fen rounds up
    assert royalty_due_fen(3, Decimal("16.5")) == 0  # 0.495 fen rounds down
    assert royalty_due_fen(0, Decimal("5")) == 0
