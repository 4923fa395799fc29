"""Patent fairs (e.g. the China International Patent Technology and Products Fair). Pure rules.

    planned --open (not after its last day)--> open --close--> closed

Exhibitors (organisations) join a fair that is not closed and show their listings there; deals
negotiated at an open fair carry its id, which is how they count toward its statistics.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class FairStatus(StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class FairRuleError(ValueError):
    """An action the fair's state or dates do not allow; the message says why."""


def check_dates(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise FairRuleError(f"the fair ends ({ends_on}) before it starts ({starts_on})")


def check_open(status: FairStatus, ends_on: date, today: date) -> None:
    if status is not FairStatus.PLANNED:
        raise FairRuleError(f"only a planned fair can open; this one is {status.value}")
    if today > ends_on:
        raise FairRuleError(f"the fair ended on {ends_on}; it can no longer open")


def check_close(status: FairStatus) -> None:
    if status is not FairStatus.OPEN:
        raise FairRuleError(f"only an open fair can close; this one is {status.value}")


def check_joinable(status: FairStatus) -> None:
    if status is FairStatus.CLOSED:
        raise FairRuleError("the fair is closed; nobody joins or shows anything any more")
