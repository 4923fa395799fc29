"""Registration rules of public events: all-or-nothing groups, no jumping the queue, strict FIFO promotion."""

from __future__ import annotations

from typing import Any

import pytest
from publicity.public_events.domain import (
    EventRuleError,
    RegistrationState,
    ScanOutcome,
    admit,
    promotions,
    scan_outcome,
    seats,
    settled,
    state_of,
    waitlist,
)


def book(registrations: dict[str, dict[str, Any]], capacity: int, rid: str, places: int) -> RegistrationState:
    state = admit(capacity, registrations, places)
    registrations[rid] = {"places": places, "state": state.value, "seq": len(registrations) + 1}
    return state


def test_groups_are_all_or_nothing_and_nobody_jumps_the_queue() -> None:
    regs: dict[str, dict[str, Any]] = {}
    assert book(regs, 5, "a", 3) is RegistrationState.CONFIRMED
    assert book(regs, 5, "b", 3) is RegistrationState.WAITLISTED  # 2 free: the group waits whole
    assert book(regs, 5, "c", 1) is RegistrationState.WAITLISTED  # a place is free, but b is waiting
    assert seats(5, regs).confirmed == 3 and seats(5, regs).waitlisted == 4
    assert waitlist(regs) == ["b", "c"]
    with pytest.raises(EventRuleError):
        admit(5, regs, 6)
    with pytest.raises(EventRuleError):
        admit(5, regs, 0)


def test_promotion_is_strict_fifo_from_the_head() -> None:
    regs: dict[str, dict[str, Any]] = {}
    for rid, places in (("a", 2), ("b", 2), ("c", 3), ("d", 1)):
        book(regs, 4, rid, places)
    assert waitlist(regs) == ["c", "d"]
    regs["a"]["state"] = RegistrationState.CANCELLED.value  # 2 free: c (3) does not fit, d must wait behind it
    assert promotions(4, regs) == []
    regs["b"]["state"] = RegistrationState.CANCELLED.value  # 4 free: c then d
    assert promotions(4, regs) == ["c", "d"]


def test_scan_outcomes() -> None:
    assert scan_outcome(known=False, event_matches=False, state=None, checked_in=False) is ScanOutcome.UNKNOWN
    assert scan_outcome(known=True, event_matches=False, state=None, checked_in=False) is ScanOutcome.OTHER_EVENT
    assert scan_outcome(known=True, event_matches=True, state="cancelled", checked_in=False) is ScanOutcome.CANCELLED
    assert scan_outcome(known=True, event_matches=True, state="waitlisted",
                        checked_in=False) is ScanOutcome.NOT_CONFIRMED
    assert scan_outcome(known=True, event_matches=True, state="confirmed",
                        checked_in=True) is ScanOutcome.ALREADY_CHECKED_IN
    assert scan_outcome(known=True, event_matches=True, state="confirmed", checked_in=False) is ScanOutcome.OK


def test_a_registrations_own_copy_of_its_state() -> None:
    # Confirmed is written after the event confirms, cancelled before the event cancels: both trusted.
    assert settled("confirmed") and settled("cancelled")
    assert state_of("confirmed", "confirmed") == "confirmed"
    assert state_of("cancelled", "confirmed") == "cancelled"  # the event's change may still be on its way
    # Anything else is settled by the event's entry: a promotion whose copy was lost, no copy yet.
    assert not settled("waitlisted") and not settled(None)
    assert state_of("waitlisted", "confirmed") == "confirmed"
    assert state_of(None, "waitlisted") == "waitlisted"
    assert state_of(None, None) is None  # the event never admitted it
