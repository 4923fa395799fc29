"""HTTP shapes of evaluations, eligibility and the rules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from registry.certification.domain import Eligibility, EvaluationStatus
from registry.certification.rules import CertificationRule
from registry.talents.domain import TalentCategory, TalentLevel


class EvaluationCreate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    talent_id: str = Field(min_length=1, max_length=40)
    level: TalentLevel
    category: TalentCategory
    statement: str | None = Field(default=None, max_length=4000, description="the applicant's case")


class Refusal(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reasons: list[str] = Field(min_length=1, max_length=20)


class ShortfallRead(BaseModel):
    kind: str
    detail: str


class EligibilityRead(BaseModel):
    talent_id: str
    level: TalentLevel
    category: TalentCategory
    eligible: bool
    credit_hours_earned: Decimal
    credit_hours_needed: Decimal | None
    missing: list[ShortfallRead]
    rules_version: int

    @classmethod
    def of(cls, talent_id: str, result: Eligibility, rules_version: int) -> EligibilityRead:
        return cls(talent_id=talent_id, level=result.level, category=result.category, eligible=result.eligible,
                   credit_hours_earned=result.credit_hours_earned, credit_hours_needed=result.credit_hours_needed,
                   missing=[ShortfallRead(kind=m.kind, detail=m.detail) for m in result.missing],
                   rules_version=rules_version)


class EvaluationStepRead(BaseModel):
    status: EvaluationStatus
    at: datetime
    reasons: list[str]


class EvaluationRead(BaseModel):
    id: str
    talent_id: str
    level: TalentLevel
    category: TalentCategory
    statement: str | None
    status: EvaluationStatus
    history: list[EvaluationStepRead]
    refusal_reasons: list[str]
    certificate_number: str | None
    eligibility_at_decision: EligibilityRead | None
    version: int
    applied_at: datetime
    updated_at: datetime


class EvaluationPage(BaseModel):
    items: list[EvaluationRead]
    next_cursor: str | None


class RuleSetRead(BaseModel):
    version: int
    edition: str
    description: str
    rules: list[CertificationRule]
    updated_at: datetime | None
