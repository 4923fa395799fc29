"""Publicity Week activities submitted by participating units (after the provincial practice). Pure.

    submitted --accept--> accepted --report reach--> accepted (with its reach report)
    submitted --return(reason)--> returned --resubmit (edited)--> submitted

The responsible unit is an organisation known from the registry's organisation events (publicity's
projection), identified by its Unified Social Credit Code. Once the activity has taken place, its unit
(or an officer) reports the actual reach, which feeds the campaign's totals.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class ActivityState(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"


class Audience(StrEnum):
    GOVERNMENT = "government"
    ENTERPRISES = "enterprises"
    COMMUNITIES = "communities"
    SCHOOLS = "schools"


class ActivityFormat(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class ActivityRuleError(ValueError):
    def __init__(self, message: str, kind: str = "activity-state") -> None:
        super().__init__(message)
        self.kind = kind


def check_review(state: ActivityState) -> None:
    if state is not ActivityState.SUBMITTED:
        raise ActivityRuleError(f"only a submitted activity is reviewed; this one is {state.value}")


def check_resubmit(state: ActivityState) -> None:
    if state is not ActivityState.RETURNED:
        raise ActivityRuleError(f"only a returned activity is edited and resubmitted; this one is {state.value}")


def check_report(state: ActivityState, held_on: date, today: date) -> None:
    if state is not ActivityState.ACCEPTED:
        raise ActivityRuleError(f"reach is reported for an accepted activity; this one is {state.value}")
    if held_on > today:
        raise ActivityRuleError(f"the activity takes place on {held_on}; report its reach afterwards",
                                kind="not-held-yet")


def check_venue(activity_format: ActivityFormat, venue: str | None) -> str | None:
    """An offline activity needs its venue; None when fine, else the problem."""
    if activity_format is ActivityFormat.OFFLINE and not venue:
        return "an offline activity needs its venue"
    return None
