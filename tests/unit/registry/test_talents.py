"""The talent status machine, levels and registration numbers: pure rules."""

from __future__ import annotations

import pytest
from registry.talents.domain import (
    STATUS_TRANSITIONS,
    TalentLevel,
    TalentStatus,
    TransitionRefused,
    certificate_number,
    check_status_change,
    highest_level,
    registration_number,
)

ALLOWED = {
    ("active", "suspended"), ("active", "inactive"), ("active", "removed"),
    ("suspended", "active"), ("suspended", "inactive"), ("suspended", "removed"),
    ("inactive", "active"), ("inactive", "removed"),
}


@pytest.mark.parametrize("current", list(TalentStatus))
@pytest.mark.parametrize("wanted", list(TalentStatus))
def test_status_machine(current: TalentStatus, wanted: TalentStatus) -> None:
    if (current.value, wanted.value) in ALLOWED:
        check_status_change(current, wanted)
    else:
        with pytest.raises(TransitionRefused):
            check_status_change(current, wanted)


def test_refusals_say_what_is_allowed() -> None:
    with pytest.raises(TransitionRefused, match="already suspended"):
        check_status_change(TalentStatus.SUSPENDED, TalentStatus.SUSPENDED)
    with pytest.raises(TransitionRefused, match=r"allowed: none \(removal is final\)"):
        check_status_change(TalentStatus.REMOVED, TalentStatus.ACTIVE)
    with pytest.raises(TransitionRefused, match="allowed: active, removed"):
        check_status_change(TalentStatus.INACTIVE, TalentStatus.SUSPENDED)
    assert STATUS_TRANSITIONS[TalentStatus.REMOVED] == frozenset()


def test_level_is_the_highest_certified() -> None:
    assert highest_level([]) is None
    assert highest_level([None]) is None
    assert highest_level([None, "senior", TalentLevel.ASSISTANT]) == TalentLevel.SENIOR
    assert highest_level(["high_level", "intermediate"]) == TalentLevel.HIGH_LEVEL
    assert [level.rank for level in TalentLevel] == [0, 1, 2, 3]


def test_numbers() -> None:
    assert registration_number(2026, 123) == "LNIP-2026-000123"
    assert certificate_number(2027, 4) == "LNIPC-2027-000004"
