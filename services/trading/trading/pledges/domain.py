"""Pledges (IP-backed loans): consent, registration, release, and what an active pledge blocks. Pure.

A pledge of a jointly owned patent needs the consent of every co-owner before it can be registered;
it takes effect on registration and, while registered, blocks any transfer of the patent until it
is released.

    requested --(every co-owner consented)--> (registrable) --register--> registered --release--> released
    requested --cancel--> cancelled
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class PledgeStatus(StrEnum):
    REQUESTED = "requested"
    REGISTERED = "registered"
    RELEASED = "released"
    CANCELLED = "cancelled"


class PledgeRuleError(ValueError):
    """An action the pledge's state does not allow; the message says why."""


def missing_consents(co_owners: Iterable[str], consents: Mapping[str, object]) -> list[str]:
    """Co-owners (in a stable order) who have not consented yet."""
    return sorted(set(co_owners) - set(consents))


def check_consent(status: PledgeStatus, co_owners: Iterable[str], organisation_id: str) -> None:
    if status is not PledgeStatus.REQUESTED:
        raise PledgeRuleError(f"the pledge is {status.value}; consent is given before registration")
    if organisation_id not in set(co_owners):
        raise PledgeRuleError(f"{organisation_id} is not a co-owner of the patent")


def check_registrable(status: PledgeStatus, co_owners: Iterable[str], consents: Mapping[str, object]) -> None:
    if status is not PledgeStatus.REQUESTED:
        raise PledgeRuleError(f"only a requested pledge can be registered; this one is {status.value}")
    missing = missing_consents(co_owners, consents)
    if missing:
        raise PledgeRuleError(f"every co-owner must consent before registration; missing: {', '.join(missing)}")


def check_releasable(status: PledgeStatus) -> None:
    if status is not PledgeStatus.REGISTERED:
        raise PledgeRuleError(f"only a registered pledge can be released; this one is {status.value}")


def blocking_pledge(active_pledge_ids: Iterable[str]) -> str | None:
    """The pledge that blocks a transfer of the patent (the first in id order), if any."""
    return min(active_pledge_ids, default=None)
