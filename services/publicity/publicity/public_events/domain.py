"""Public events with registration and check-in (after pretix). Pure rules.

The event document is the truth about who holds a place: a map of registration id -> {places, state,
seq}, with state `confirmed`, `waitlisted` or `cancelled`. Every registration, cancellation and
promotion is one change of that document (servicekit.aggregates), so they are serialised per event and
the counts are exact under concurrency.

- A registration takes N places (a group registration), all or nothing: it is confirmed when N places
  are free *and nobody is waiting* (no jumping the queue), otherwise waitlisted whole.
- The waitlist is FIFO by registration order; when places free, it is promoted from its head as long as
  the head fits. A group at the head that does not fit yet keeps everyone behind it waiting (strict
  FIFO: nobody overtakes; a smaller registration behind it would otherwise starve it).
- Each registration's own document carries a copy of its state, so a check-in reads that document
  alone (the event document holds every registration's entry: thousands at a big event). The copy is
  written after the event's change that confirms (admission, promotion) and before the event's change
  that cancels, so a copy saying `confirmed` is always true, and a copy saying `cancelled` means the
  registrant asked to cancel (the event's change may still be on its way). Any other copy (waitlisted,
  or none yet after a crash between the two writes) is settled by the event's entry (`state_of`).
- Check-in: every scan is recorded with its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_GROUP = 20


class RegistrationState(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class ScanOutcome(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    NOT_CONFIRMED = "not_confirmed"
    ALREADY_CHECKED_IN = "already_checked_in"
    OTHER_EVENT = "other_event"


class EventRuleError(ValueError):
    def __init__(self, message: str, kind: str = "event-rule") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Seats:
    capacity: int
    confirmed: int  # places
    waitlisted: int  # places

    @property
    def free(self) -> int:
        return max(self.capacity - self.confirmed, 0)


def seats(capacity: int, registrations: dict[str, dict[str, Any]]) -> Seats:
    confirmed = sum(int(r["places"]) for r in registrations.values() if r["state"] == RegistrationState.CONFIRMED)
    waiting = sum(int(r["places"]) for r in registrations.values() if r["state"] == RegistrationState.WAITLISTED)
    return Seats(capacity=capacity, confirmed=confirmed, waitlisted=waiting)


def waitlist(registrations: dict[str, dict[str, Any]]) -> list[str]:
    """Waitlisted registration ids, first come first."""
    waiting = [(int(r["seq"]), rid) for rid, r in registrations.items() if r["state"] == RegistrationState.WAITLISTED]
    return [rid for _, rid in sorted(waiting)]


def admit(capacity: int, registrations: dict[str, dict[str, Any]], places: int) -> RegistrationState:
    """The state of a new registration of `places` places."""
    if places < 1 or places > MAX_GROUP:
        raise EventRuleError(f"a registration takes 1 to {MAX_GROUP} places", kind="group-size")
    if places > capacity:
        raise EventRuleError(f"the event has {capacity} places in all; a group of {places} can never fit",
                             kind="group-too-large")
    now = seats(capacity, registrations)
    if not waitlist(registrations) and places <= now.free:
        return RegistrationState.CONFIRMED
    return RegistrationState.WAITLISTED


def promotions(capacity: int, registrations: dict[str, dict[str, Any]]) -> list[str]:
    """Who is promoted now, in order: from the head of the waitlist while the head fits."""
    free = seats(capacity, registrations).free
    promoted: list[str] = []
    for rid in waitlist(registrations):
        places = int(registrations[rid]["places"])
        if places > free:
            break
        promoted.append(rid)
        free -= places
    return promoted


def settled(own: str | None) -> bool:
    """Whether a registration's own copy of its state can be trusted without the event's entry."""
    return own in (RegistrationState.CONFIRMED, RegistrationState.CANCELLED)


def state_of(own: str | None, entry: str | None) -> str | None:
    """A registration's state from its own copy and the event's entry (None: the event never admitted it).
    A settled copy wins (see above); otherwise the event's entry, the truth about places."""
    if settled(own):
        return own
    return entry


def scan_outcome(*, known: bool, event_matches: bool, state: str | None, checked_in: bool) -> ScanOutcome:
    if not known:
        return ScanOutcome.UNKNOWN
    if not event_matches:
        return ScanOutcome.OTHER_EVENT
    if state == RegistrationState.CANCELLED:
        return ScanOutcome.CANCELLED
    if state != RegistrationState.CONFIRMED:
        return ScanOutcome.NOT_CONFIRMED
    if checked_in:
        return ScanOutcome.ALREADY_CHECKED_IN
    return ScanOutcome.OK
