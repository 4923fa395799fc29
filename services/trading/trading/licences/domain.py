"""Licences under Chinese patent law: which licences may coexist on one patent, and recordal. Pure.

Licence types (ARCHITECTURE section 2): exclusive (only the licensee may exploit, not even the
licensor), sole (the licensee and the licensor, nobody else), ordinary (non-exclusive; an open
licence taken up by notice is an ordinary licence too).

The conflict rule, applied to every pair of licences on the same patent whose scopes overlap (some
field of use, some territory and some day in common, see `scope.py`):

    new \\ existing   exclusive   sole       ordinary
    exclusive        conflict    conflict   conflict
    sole             conflict    conflict   conflict
    ordinary         conflict    conflict   fine

- exclusive/sole vs exclusive/sole: the brief's rule, both ways.
- ordinary inside an exclusive licence's scope: the brief's rule. Inside a *sole* licence's scope we
  refuse it too, because a sole licence means "licensee and licensor, nobody else": a third party's
  ordinary licence there is exactly what the sole licensee was promised would not exist.
- the pair is symmetric: an exclusive or sole licence granted over an existing ordinary licence
  would leave that ordinary licensee exploiting inside the exclusive scope, the state the rule forbids.
- a patent with an open licence (declared in a published listing) cannot carry an exclusive or sole
  licence at all, whatever the scope: anyone may take an ordinary licence by notice, anywhere.

Recordal: a licence contract is filed for recordal with the national office within 3 months of its
signature. Stored status is pending -> filed -> recorded; a licence still pending after the deadline
is shown as overdue (an office that is slow to record a filed contract does not make the parties late).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from trading.licences.scope import Scope

RECORDAL_MONTHS = 3


class LicenceType(StrEnum):
    EXCLUSIVE = "exclusive_licence"
    SOLE = "sole_licence"
    ORDINARY = "ordinary_licence"

    @property
    def restrictive(self) -> bool:
        """Exclusive and sole licences keep others out of their scope."""
        return self is not LicenceType.ORDINARY


class RecordalStatus(StrEnum):
    PENDING = "pending"
    FILED = "filed"
    RECORDED = "recorded"
    OVERDUE = "overdue"  # shown, never stored: pending past the deadline


@dataclass(frozen=True)
class GrantedLicence:
    """What the conflict check needs to know of a licence already granted on the patent."""

    licence_id: str
    licence_type: LicenceType
    scope: Scope


@dataclass(frozen=True)
class Conflict:
    licence_id: str
    reason: str


def conflicts_with(new_type: LicenceType, new_scope: Scope, existing: GrantedLicence) -> str | None:
    """Why a new licence cannot coexist with `existing` (None when it can)."""
    if not (new_type.restrictive or existing.licence_type.restrictive):
        return None  # ordinary licences never exclude each other
    if not new_scope.overlaps(existing.scope):
        return None
    if new_type.restrictive and existing.licence_type.restrictive:
        return (f"{_a(new_type)} licence may not overlap the {_name(existing.licence_type)} licence "
                f"{existing.licence_id} in field, territory and term")
    if existing.licence_type.restrictive:
        return (f"an ordinary licence may not be granted inside the scope of the {_name(existing.licence_type)} "
                f"licence {existing.licence_id}")
    return (f"{_a(new_type)} licence would cover the scope of the ordinary licence "
            f"{existing.licence_id} already granted")


def first_conflict(new_type: LicenceType, new_scope: Scope, granted: Iterable[GrantedLicence],
                   *, patent_has_open_licence: bool) -> Conflict | None:
    """The first licence (in id order, so the answer is stable) the new one conflicts with, if any."""
    for existing in sorted(granted, key=lambda g: g.licence_id):
        reason = conflicts_with(new_type, new_scope, existing)
        if reason is not None:
            return Conflict(existing.licence_id, reason)
    if patent_has_open_licence and new_type.restrictive:
        return Conflict("open-licence", f"the patent carries an open licence, so it cannot carry "
                                        f"{_a(new_type)} licence")
    return None


def _name(licence_type: LicenceType) -> str:
    return licence_type.value.removesuffix("_licence")


def _a(licence_type: LicenceType) -> str:
    """"an exclusive", "a sole", "an ordinary": the article agrees with the word's sound."""
    name = _name(licence_type)
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (30 Nov + 3 months = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def recordal_deadline(signed_on: date) -> date:
    """The last day to file the contract for recordal: three months after signature."""
    return add_months(signed_on, RECORDAL_MONTHS)


def effective_recordal_status(stored: RecordalStatus, deadline: date, today: date) -> RecordalStatus:
    if stored is RecordalStatus.PENDING and today > deadline:
        return RecordalStatus.OVERDUE
    return stored


_RECORDAL_NEXT = {RecordalStatus.PENDING: RecordalStatus.FILED, RecordalStatus.FILED: RecordalStatus.RECORDED}


def next_recordal_status(stored: RecordalStatus, wanted: RecordalStatus) -> RecordalStatus:
    """Recordal moves one step at a time: pending -> filed -> recorded. Raises ValueError otherwise."""
    if _RECORDAL_NEXT.get(stored) is not wanted:
        raise ValueError(f"recordal cannot go from {stored.value} to {wanted.value}; "
                         f"it goes pending -> filed -> recorded")
    return wanted
