"""IP talents: categories, levels, the practitioner status machine. Pure rules, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class TalentCategory(StrEnum):
    ENFORCEMENT = "enforcement"
    ENTERPRISE_IP_MANAGEMENT = "enterprise_ip_management"
    PATENT_AGENCY = "patent_agency"
    INFORMATION_RETRIEVAL_ANALYSIS = "information_retrieval_analysis"
    IP_SERVICES = "ip_services"


class TalentLevel(StrEnum):
    """Professional levels, lowest first (the order is the rank)."""

    ASSISTANT = "assistant"
    INTERMEDIATE = "intermediate"
    SENIOR = "senior"
    HIGH_LEVEL = "high_level"

    @property
    def rank(self) -> int:
        return list(TalentLevel).index(self)


class TalentStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    INACTIVE = "inactive"
    REMOVED = "removed"


# Which status changes a practitioner record allows. Removal is final: the record and its public
# history stay (a removed practitioner's credentials must still check as invalid), and the identity
# hash stays unique, so the same person cannot quietly be registered again under a new number.
STATUS_TRANSITIONS: dict[TalentStatus, frozenset[TalentStatus]] = {
    TalentStatus.ACTIVE: frozenset({TalentStatus.SUSPENDED, TalentStatus.INACTIVE, TalentStatus.REMOVED}),
    TalentStatus.SUSPENDED: frozenset({TalentStatus.ACTIVE, TalentStatus.INACTIVE, TalentStatus.REMOVED}),
    TalentStatus.INACTIVE: frozenset({TalentStatus.ACTIVE, TalentStatus.REMOVED}),
    TalentStatus.REMOVED: frozenset(),
}


class TransitionRefused(ValueError):
    """A change the rules do not allow; the message says why."""


def check_status_change(current: TalentStatus, wanted: TalentStatus) -> None:
    if wanted == current:
        raise TransitionRefused(f"the talent is already {current.value}")
    allowed = STATUS_TRANSITIONS[current]
    if wanted not in allowed:
        options = ", ".join(sorted(s.value for s in allowed)) or "none (removal is final)"
        raise TransitionRefused(f"a {current.value} talent cannot become {wanted.value}; allowed: {options}")


def highest_level(levels: Iterable[TalentLevel | str | None]) -> TalentLevel | None:
    """The talent's level: the highest it has been certified at (None until its first certification)."""
    ranked = [TalentLevel(level) for level in levels if level is not None]
    return max(ranked, key=lambda level: level.rank) if ranked else None


def registration_number(year: int, sequence: int) -> str:
    """LNIP-<year>-<six-digit sequence>: Liaoning IP talent, the year registered, the registry's counter."""
    return f"LNIP-{year}-{sequence:06d}"


def certificate_number(year: int, sequence: int) -> str:
    """LNIPC-<year>-<sequence>: a certification certificate, numbered by its evaluation's sequence."""
    return f"LNIPC-{year}-{sequence:06d}"
