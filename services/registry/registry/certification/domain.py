"""Certification: when a talent is eligible for a level, and the evaluation workflow. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from registry.certification.rules import CertificationRule
from registry.credits.domain import completed_courses, hours_by_category
from registry.talents.domain import TalentCategory, TalentLevel, TalentStatus


@dataclass(frozen=True)
class Shortfall:
    """One thing standing between the talent and the certification, said so that it can be acted on."""

    kind: str
    detail: str


@dataclass(frozen=True)
class Eligibility:
    level: TalentLevel
    category: TalentCategory
    credit_hours_earned: Decimal
    credit_hours_needed: Decimal | None
    missing: list[Shortfall] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.missing


def eligibility(rule: CertificationRule | None, level: TalentLevel, category: TalentCategory,
                talent: Mapping[str, Any], ledger: Iterable[Mapping[str, Any]]) -> Eligibility:
    """Whether `talent` (its document) with `ledger` (its credit entries) may be certified at `level`
    in `category` under `rule` (None when the rules have none for that pair)."""
    entries = list(ledger)
    earned = hours_by_category(entries).get(category.value, Decimal(0))
    missing: list[Shortfall] = []
    if talent.get("status") != TalentStatus.ACTIVE.value:
        missing.append(Shortfall("talent_not_active", f"the talent is {talent.get('status')}, not active"))
    if category.value not in (talent.get("categories") or []):
        missing.append(Shortfall("category_not_declared",
                                 f"the talent does not practise in {category.value} (add the category first)"))
    held = {(c.get("level"), c.get("category")) for c in talent.get("certifications") or []}
    if (level.value, category.value) in held:
        missing.append(Shortfall("already_certified", f"already certified {level.value} in {category.value}"))
    if rule is None:
        missing.append(Shortfall("no_rule", f"the rules have no certification for {level.value} in {category.value}"))
        return Eligibility(level, category, earned, None, missing)
    if earned < rule.min_credit_hours:
        missing.append(Shortfall("credit_hours", f"{rule.min_credit_hours} credit hours in {category.value} "
                                                 f"needed, {earned} earned"))
    done = completed_courses(entries)
    for course_id in rule.required_course_ids:
        if course_id not in done:
            missing.append(Shortfall("required_course", f"required course {course_id} not completed"))
    if rule.prerequisite_level is not None and (rule.prerequisite_level.value, category.value) not in held:
        missing.append(Shortfall("prerequisite_level", f"certification {rule.prerequisite_level.value} in "
                                                       f"{category.value} must be held first"))
    return Eligibility(level, category, earned, rule.min_credit_hours, missing)


class EvaluationStatus(StrEnum):
    APPLIED = "applied"
    UNDER_REVIEW = "under_review"
    GRANTED = "granted"
    REFUSED = "refused"


OPEN_STATUSES = frozenset({EvaluationStatus.APPLIED, EvaluationStatus.UNDER_REVIEW})

EVALUATION_TRANSITIONS: dict[EvaluationStatus, frozenset[EvaluationStatus]] = {
    EvaluationStatus.APPLIED: frozenset({EvaluationStatus.UNDER_REVIEW}),
    EvaluationStatus.UNDER_REVIEW: frozenset({EvaluationStatus.GRANTED, EvaluationStatus.REFUSED}),
    EvaluationStatus.GRANTED: frozenset(),
    EvaluationStatus.REFUSED: frozenset(),
}


class EvaluationRefused(ValueError):
    """A workflow step the evaluation's state does not allow."""


def check_evaluation_step(current: EvaluationStatus, wanted: EvaluationStatus) -> None:
    if wanted not in EVALUATION_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in EVALUATION_TRANSITIONS[current])) or "none (decided)"
        raise EvaluationRefused(f"an evaluation that is {current.value} cannot become {wanted.value}; "
                                f"next steps: {allowed}")


def evaluation_id(year: int, sequence: int) -> str:
    return f"EV-{year}-{sequence:06d}"
