"""Certification rules as data: per level and category, the credit hours needed, the courses
required and the level that must be held first. The default edition is `rules.json` in this
package; the live set is a document in the store, changed by admins through the API."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources

from pydantic import ConfigDict, Field, field_validator, model_validator
from servicekit.schemas import RequestModel

from registry.talents.domain import TalentCategory, TalentLevel


class CertificationRule(RequestModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: TalentLevel
    category: TalentCategory
    # Bounded: an unbounded number reached the store as an integer beyond 8 bytes (a 500, found by the fuzz).
    min_credit_hours: Decimal = Field(ge=0, le=10_000, description="credit hours counting toward the category")
    required_course_ids: list[str] = Field(default_factory=list, max_length=50)
    prerequisite_level: TalentLevel | None = Field(
        default=None, description="a certification at this level in the same category must be held first")

    @model_validator(mode="after")
    def _prerequisite_is_lower(self) -> CertificationRule:
        if self.prerequisite_level is not None and self.prerequisite_level.rank >= self.level.rank:
            raise ValueError("prerequisite_level must be below level")
        return self


class RuleSetBody(RequestModel):
    """A complete set of rules (what an admin PUTs). A level and category without a rule cannot be granted."""

    model_config = ConfigDict(extra="forbid")

    edition: str = Field(min_length=1, max_length=50, description="the admin's name for this edition")
    description: str = Field(default="", max_length=2000)
    rules: list[CertificationRule] = Field(min_length=1, max_length=100)

    @field_validator("rules")
    @classmethod
    def _one_rule_per_pair(cls, rules: list[CertificationRule]) -> list[CertificationRule]:
        seen: set[tuple[TalentLevel, TalentCategory]] = set()
        for rule in rules:
            pair = (rule.level, rule.category)
            if pair in seen:
                raise ValueError(f"two rules for level {rule.level.value} in category {rule.category.value}")
            seen.add(pair)
        return rules

    def rule_for(self, level: TalentLevel, category: TalentCategory) -> CertificationRule | None:
        return next((r for r in self.rules if r.level == level and r.category == category), None)


def default_rules() -> RuleSetBody:
    text = resources.files("registry.certification").joinpath("rules.json").read_text(encoding="utf-8")
    return RuleSetBody.model_validate(json.loads(text))
