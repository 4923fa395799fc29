"""Campaigns such as "4.26 IP Publicity Week 2027". Pure rules.

    planned --open--> open --close--> closed

A campaign's page gathers what happens inside its dates: the fairs trading runs (projected here from
trading's fair events) whose dates overlap the campaign's, plus anything an officer pins; an officer
may also unpin (hide) an item that would otherwise be listed.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

MAX_SPAN = timedelta(days=62)


class CampaignStatus(StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class CampaignRuleError(ValueError):
    pass


def check_dates(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise CampaignRuleError(f"the campaign ends ({ends_on}) before it starts ({starts_on})")
    if ends_on - starts_on > MAX_SPAN:
        raise CampaignRuleError(f"a campaign spans at most {MAX_SPAN.days} days")


def check_transition(status: CampaignStatus, to: CampaignStatus) -> None:
    allowed = {CampaignStatus.OPEN: CampaignStatus.PLANNED, CampaignStatus.CLOSED: CampaignStatus.OPEN}
    if allowed.get(to) is not status:
        raise CampaignRuleError(f"a {status.value} campaign cannot become {to.value}")


def overlaps(starts_on: date, ends_on: date, other_start: date, other_end: date) -> bool:
    """Whether an item's dates fall (at least partly) inside the campaign's (both inclusive)."""
    return other_start <= ends_on and other_end >= starts_on


def listed(in_dates: bool, pin: bool | None) -> bool:
    """An item is listed when its dates fall inside the campaign, unless unpinned; or when pinned."""
    return pin if pin is not None else in_dates
