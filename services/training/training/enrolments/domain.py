"""Enrolments: the state machine, seats and the waitlist, assessment, certificate numbers.
Pure rules, no I/O.

    requested --approve--> approved --book--> booked --attend--> attended --pass--> completed
                                    \\--waitlist--> waitlisted --promote--/  \\--no_show--> no_show
    requested / approved / waitlisted / booked --cancel--> cancelled

- approve: a coordinator accepts the request (the talent is active and has the prerequisites);
- book: the talent (or coordinator) takes a seat; with none free the enrolment is waitlisted instead;
- promote: when a seat frees, the longest-waiting eligible enrolment is booked (FIFO), automatically;
- attend / no_show: the coordinator records attendance;
- an assessment score at or above the course's pass mark completes the enrolment (certificate
  number, credits in the registry); below it the enrolment stays attended with the score recorded,
  and may be re-assessed.
Everyone who held a seat keeps it (booked, attended, no_show, completed): only cancelling a booking
frees a seat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class EnrolmentState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    WAITLISTED = "waitlisted"
    BOOKED = "booked"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    ATTENDED = "attended"
    COMPLETED = "completed"


class Action(StrEnum):
    APPROVE = "approve"
    BOOK = "book"
    WAITLIST = "waitlist"
    PROMOTE = "promote"
    CANCEL = "cancel"
    NO_SHOW = "no_show"
    ATTEND = "attend"
    COMPLETE = "complete"


S = EnrolmentState
TRANSITIONS: Mapping[tuple[EnrolmentState, Action], EnrolmentState] = {
    (S.REQUESTED, Action.APPROVE): S.APPROVED,
    (S.APPROVED, Action.BOOK): S.BOOKED,
    (S.APPROVED, Action.WAITLIST): S.WAITLISTED,
    (S.WAITLISTED, Action.PROMOTE): S.BOOKED,
    (S.REQUESTED, Action.CANCEL): S.CANCELLED,
    (S.APPROVED, Action.CANCEL): S.CANCELLED,
    (S.WAITLISTED, Action.CANCEL): S.CANCELLED,
    (S.BOOKED, Action.CANCEL): S.CANCELLED,
    (S.BOOKED, Action.NO_SHOW): S.NO_SHOW,
    (S.BOOKED, Action.ATTEND): S.ATTENDED,
    (S.ATTENDED, Action.COMPLETE): S.COMPLETED,
}

# States holding a seat of the session's capacity.
SEAT_HOLDING = frozenset({S.BOOKED, S.ATTENDED, S.NO_SHOW, S.COMPLETED})
# States of an enrolment still in progress: a talent may have one such per session.
OPEN = frozenset({S.REQUESTED, S.APPROVED, S.WAITLISTED, S.BOOKED})
# States from which nothing follows.
FINAL = frozenset({S.CANCELLED, S.NO_SHOW, S.COMPLETED})

DEFAULT_PASS_MARK = 60


class TransitionRefused(ValueError):
    def __init__(self, state: EnrolmentState, action: Action) -> None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s == state)
        super().__init__(f"an enrolment that is {state.value} cannot {action.value.replace('_', '-')}"
                         + (f" (possible: {', '.join(allowed)})" if allowed else " (it is final)"))
        self.state = state
        self.action = action


def next_state(state: EnrolmentState, action: Action) -> EnrolmentState:
    """The state `action` leads to from `state`, or TransitionRefused."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise TransitionRefused(state, action) from None


@dataclass(frozen=True)
class Seat:
    """One enrolment as the seat rules see it."""

    enrolment_id: str
    talent_id: str
    state: EnrolmentState
    queue_position: int | None = None  # order of joining the waitlist (smaller waited longer)


def seats_taken(enrolments: Iterable[Seat]) -> int:
    return sum(1 for e in enrolments if e.state in SEAT_HOLDING)


def booking_outcome(enrolments: Iterable[Seat], capacity: int) -> Action:
    """Booking an approved enrolment: a seat if one is free, else the waitlist."""
    return Action.BOOK if seats_taken(enrolments) < capacity else Action.WAITLIST


def promotions(enrolments: Iterable[Seat], capacity: int, eligible_talents: set[str]) -> list[str]:
    """Waitlisted enrolments to book now, in FIFO order, while seats are free.

    Waitlisted talents not in `eligible_talents` (suspended, say) keep their place but are skipped,
    so a seat never waits for someone who may not attend.
    """
    enrolments = list(enrolments)
    free = capacity - seats_taken(enrolments)
    waiting = sorted((e for e in enrolments if e.state == S.WAITLISTED and e.talent_id in eligible_talents),
                     key=lambda e: (e.queue_position if e.queue_position is not None else 0, e.enrolment_id))
    return [e.enrolment_id for e in waiting[:max(free, 0)]]


def capacity_change_allowed(enrolments: Iterable[Seat], new_capacity: int) -> bool:
    """Capacity may not drop below the seats already given."""
    return new_capacity >= seats_taken(enrolments)


def passes(score: int, pass_mark: int) -> bool:
    if not 0 <= score <= 100:
        raise ValueError("a score is between 0 and 100")
    return score >= pass_mark


def missing_prerequisites(required: Iterable[str], completed_courses: set[str]) -> list[str]:
    """Prerequisite courses the talent has not completed (in training's own records), in order."""
    return [c for c in required if c not in completed_courses]


CERTIFICATE_PREFIX = "LNTC"


def certificate_number(year: int, sequence: int) -> str:
    """Liaoning training certificate number, e.g. LNTC-2026-000042: unique per year's sequence."""
    if sequence < 1:
        raise ValueError("certificate sequences start at 1")
    return f"{CERTIFICATE_PREFIX}-{year:04d}-{sequence:06d}"


def enrolment_id(session_id: str, number: int) -> str:
    """Enrolment ids name their session, so an enrolment is found by _id within its session document."""
    return f"{session_id}-{number:05d}"


def session_of(enrolment: str) -> str | None:
    """The session id inside an enrolment id (None when it is not shaped like one)."""
    session, sep, number = enrolment.rpartition("-")
    return session if sep and session and number.isdigit() else None
