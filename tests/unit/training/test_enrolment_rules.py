"""Enrolment rules of training: the state machine, seats and FIFO waitlist, prerequisites, numbers."""

from __future__ import annotations

import pytest
from training.courses.domain import prerequisite_cycle
from training.enrolments.domain import (
    FINAL,
    OPEN,
    SEAT_HOLDING,
    TRANSITIONS,
    Action,
    EnrolmentState,
    Seat,
    TransitionRefused,
    booking_outcome,
    capacity_change_allowed,
    certificate_number,
    enrolment_id,
    missing_prerequisites,
    next_state,
    passes,
    promotions,
    seats_taken,
    session_of,
)
from training.talents.domain import cancels_open_enrolments, may_take_part

S = EnrolmentState

ALLOWED = {
    (S.REQUESTED, Action.APPROVE): S.APPROVED,
    (S.REQUESTED, Action.CANCEL): S.CANCELLED,
    (S.APPROVED, Action.BOOK): S.BOOKED,
    (S.APPROVED, Action.WAITLIST): S.WAITLISTED,
    (S.APPROVED, Action.CANCEL): S.CANCELLED,
    (S.WAITLISTED, Action.PROMOTE): S.BOOKED,
    (S.WAITLISTED, Action.CANCEL): S.CANCELLED,
    (S.BOOKED, Action.CANCEL): S.CANCELLED,
    (S.BOOKED, Action.ATTEND): S.ATTENDED,
    (S.BOOKED, Action.NO_SHOW): S.NO_SHOW,
    (S.ATTENDED, Action.COMPLETE): S.COMPLETED,
}


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in S for a in Action])
def test_every_state_and_action_pair(state: EnrolmentState, action: Action) -> None:
    """Written out independently of the module's table: exactly these moves are possible."""
    if (state, action) in ALLOWED:
        assert next_state(state, action) == ALLOWED[(state, action)]
    else:
        with pytest.raises(TransitionRefused, match=state.value):
            next_state(state, action)


def test_the_table_is_the_documented_one() -> None:
    assert dict(TRANSITIONS) == ALLOWED


def test_final_states_lead_nowhere_and_every_state_is_reachable() -> None:
    assert all(state not in FINAL for state, _ in TRANSITIONS)
    reachable = {S.REQUESTED} | set(TRANSITIONS.values())
    assert reachable == set(S)
    with pytest.raises(TransitionRefused, match="final"):
        next_state(S.COMPLETED, Action.CANCEL)


def test_only_cancelling_a_booking_frees_a_seat() -> None:
    assert {S.BOOKED, S.ATTENDED, S.NO_SHOW, S.COMPLETED} == SEAT_HOLDING
    assert {S.REQUESTED, S.APPROVED, S.WAITLISTED, S.BOOKED} == OPEN


def seat(n: int, state: EnrolmentState, queue: int | None = None, talent: str | None = None) -> Seat:
    return Seat(f"s-{n:05d}", talent or f"t{n}", state, queue)


def test_booking_takes_a_free_seat_else_the_waitlist() -> None:
    taken = [seat(1, S.BOOKED), seat(2, S.ATTENDED), seat(3, S.CANCELLED), seat(4, S.WAITLISTED, 1)]
    assert seats_taken(taken) == 2
    assert booking_outcome(taken, capacity=3) == Action.BOOK
    assert booking_outcome(taken, capacity=2) == Action.WAITLIST


def test_promotion_is_first_in_first_out_for_free_seats_only() -> None:
    enrolments = [seat(1, S.BOOKED), seat(2, S.WAITLISTED, 7), seat(3, S.WAITLISTED, 5), seat(4, S.WAITLISTED, 9)]
    everyone = {e.talent_id for e in enrolments}
    assert promotions(enrolments, capacity=1, eligible_talents=everyone) == []
    assert promotions(enrolments, capacity=2, eligible_talents=everyone) == ["s-00003"]
    assert promotions(enrolments, capacity=3, eligible_talents=everyone) == ["s-00003", "s-00002"]
    assert promotions(enrolments, capacity=10, eligible_talents=everyone) == ["s-00003", "s-00002", "s-00004"]


def test_promotion_skips_talents_who_may_not_take_part_but_keeps_their_place() -> None:
    enrolments = [seat(1, S.WAITLISTED, 1), seat(2, S.WAITLISTED, 2), seat(3, S.WAITLISTED, 3)]
    assert promotions(enrolments, capacity=1, eligible_talents={"t2", "t3"}) == ["s-00002"]
    assert promotions(enrolments, capacity=1, eligible_talents=set()) == []


def test_capacity_cannot_drop_below_seats_given() -> None:
    enrolments = [seat(1, S.BOOKED), seat(2, S.NO_SHOW), seat(3, S.WAITLISTED, 1)]
    assert capacity_change_allowed(enrolments, 2)
    assert not capacity_change_allowed(enrolments, 1)


@pytest.mark.parametrize(("score", "mark", "passed"), [(60, 60, True), (59, 60, False), (100, 100, True),
                                                       (0, 0, True), (75, 80, False)])
def test_pass_mark(score: int, mark: int, passed: bool) -> None:
    assert passes(score, mark) is passed


def test_scores_outside_0_to_100_are_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        passes(101, 60)


def test_missing_prerequisites_keep_their_order() -> None:
    assert missing_prerequisites(["c3", "c1", "c2"], {"c1"}) == ["c3", "c2"]
    assert missing_prerequisites([], set()) == []
    assert missing_prerequisites(["c1"], {"c1", "c9"}) == []


def test_prerequisite_cycles_are_found() -> None:
    graph = {"b": ["a"], "c": ["b"], "a": []}
    assert prerequisite_cycle("d", ["c"], lambda c: graph.get(c, [])) is None
    # Giving "a" the prerequisite "c" closes a -> c -> b -> a.
    assert prerequisite_cycle("a", ["c"], lambda c: graph.get(c, [])) == ["a", "c", "b", "a"]
    assert prerequisite_cycle("a", ["a"], lambda c: graph.get(c, [])) == ["a", "a"]


def test_certificate_numbers() -> None:
    assert certificate_number(2026, 42) == "LNTC-2026-000042"
    assert certificate_number(2027, 1_234_567) == "LNTC-2027-1234567"
    with pytest.raises(ValueError, match="start at 1"):
        certificate_number(2026, 0)


def test_enrolment_ids_name_their_session() -> None:
    eid = enrolment_id("0f3a9c", 12)
    assert eid == "0f3a9c-00012"
    assert session_of(eid) == "0f3a9c"
    assert session_of("no-number-here") is None
    assert session_of("00012") is None


def test_suspension_policy() -> None:
    assert may_take_part("active")
    assert not any(may_take_part(s) for s in ("suspended", "inactive", "removed", None))
    assert cancels_open_enrolments("removed")
    assert not any(cancels_open_enrolments(s) for s in ("active", "suspended", "inactive"))
