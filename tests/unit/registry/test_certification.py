"""Eligibility for certification and the evaluation workflow: pure rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from registry.certification.domain import (
    EVALUATION_TRANSITIONS,
    EvaluationRefused,
    EvaluationStatus,
    check_evaluation_step,
    eligibility,
)
from registry.certification.rules import CertificationRule, RuleSetBody, default_rules
from registry.talents.domain import TalentCategory, TalentLevel

IPM = TalentCategory.ENTERPRISE_IP_MANAGEMENT
SERVICES = TalentCategory.IP_SERVICES


def talent(**overrides: Any) -> dict[str, Any]:
    return {"status": "active", "categories": [IPM.value, SERVICES.value], "certifications": [], **overrides}


def entry(course: str, hours: str, *categories: str) -> dict[str, Any]:
    return {"course_id": course, "credit_hours": hours, "categories": list(categories)}


RULE = CertificationRule(level=TalentLevel.INTERMEDIATE, category=IPM, min_credit_hours=Decimal("32"),
                         required_course_ids=["ipm-basics"])


def test_enough_hours_in_the_category_and_the_required_course_make_a_talent_eligible() -> None:
    ledger = [entry("ipm-basics", "16", IPM.value), entry("ipm-advanced", "16.5", IPM.value, SERVICES.value)]
    result = eligibility(RULE, TalentLevel.INTERMEDIATE, IPM, talent(), ledger)
    assert result.eligible, result.missing
    assert result.credit_hours_earned == Decimal("32.5")
    assert result.credit_hours_needed == Decimal("32")


def test_hours_in_other_categories_or_none_do_not_count() -> None:
    ledger = [entry("ipm-basics", "8", IPM.value), entry("search", "40", SERVICES.value), entry("ethics", "40")]
    result = eligibility(RULE, TalentLevel.INTERMEDIATE, IPM, talent(), ledger)
    assert [m.kind for m in result.missing] == ["credit_hours"]
    assert result.missing[0].detail == "32 credit hours in enterprise_ip_management needed, 8 earned"


def test_every_shortfall_is_listed() -> None:
    rule = CertificationRule(level=TalentLevel.SENIOR, category=IPM, min_credit_hours=Decimal("64"),
                             required_course_ids=["a", "b"], prerequisite_level=TalentLevel.INTERMEDIATE)
    result = eligibility(rule, TalentLevel.SENIOR, IPM, talent(status="suspended", categories=[SERVICES.value]),
                         [entry("a", "10", IPM.value)])
    assert not result.eligible
    assert [m.kind for m in result.missing] == ["talent_not_active", "category_not_declared", "credit_hours",
                                                "required_course", "prerequisite_level"]
    assert "required course b not completed" in [m.detail for m in result.missing]


def test_the_prerequisite_level_must_be_held_in_the_same_category() -> None:
    rule = CertificationRule(level=TalentLevel.SENIOR, category=IPM, min_credit_hours=Decimal(0),
                             prerequisite_level=TalentLevel.INTERMEDIATE)
    elsewhere = talent(certifications=[{"level": "intermediate", "category": SERVICES.value}])
    assert [m.kind for m in eligibility(rule, TalentLevel.SENIOR, IPM, elsewhere, []).missing] == [
        "prerequisite_level"]
    held = talent(certifications=[{"level": "intermediate", "category": IPM.value}])
    assert eligibility(rule, TalentLevel.SENIOR, IPM, held, []).eligible


def test_no_rule_and_already_certified_are_shortfalls() -> None:
    no_rule = eligibility(None, TalentLevel.HIGH_LEVEL, IPM, talent(), [])
    assert [m.kind for m in no_rule.missing] == ["no_rule"] and no_rule.credit_hours_needed is None
    twice = eligibility(RULE, TalentLevel.INTERMEDIATE, IPM,
                        talent(certifications=[{"level": "intermediate", "category": IPM.value}]),
                        [entry("ipm-basics", "40", IPM.value)])
    assert [m.kind for m in twice.missing] == ["already_certified"]


def test_evaluation_workflow() -> None:
    check_evaluation_step(EvaluationStatus.APPLIED, EvaluationStatus.UNDER_REVIEW)
    check_evaluation_step(EvaluationStatus.UNDER_REVIEW, EvaluationStatus.GRANTED)
    check_evaluation_step(EvaluationStatus.UNDER_REVIEW, EvaluationStatus.REFUSED)
    for wanted in (EvaluationStatus.GRANTED, EvaluationStatus.REFUSED, EvaluationStatus.APPLIED):
        with pytest.raises(EvaluationRefused, match="applied cannot become"):
            check_evaluation_step(EvaluationStatus.APPLIED, wanted)
    for decided in (EvaluationStatus.GRANTED, EvaluationStatus.REFUSED):
        assert EVALUATION_TRANSITIONS[decided] == frozenset()
        with pytest.raises(EvaluationRefused, match=r"next steps: none \(decided\)"):
            check_evaluation_step(decided, EvaluationStatus.UNDER_REVIEW)


def test_default_rules_cover_every_level_and_category() -> None:
    rules = default_rules()
    for level in TalentLevel:
        for category in TalentCategory:
            assert rules.rule_for(level, category) is not None, (level, category)
    assert rules.rule_for(TalentLevel.SENIOR, IPM) == CertificationRule(
        level=TalentLevel.SENIOR, category=IPM, min_credit_hours=Decimal(64),
        prerequisite_level=TalentLevel.INTERMEDIATE)


def test_rule_sets_are_checked() -> None:
    one = {"level": "assistant", "category": "ip_services", "min_credit_hours": "8"}
    with pytest.raises(ValidationError, match="two rules for level assistant"):
        RuleSetBody.model_validate({"edition": "x", "rules": [one, one]})
    with pytest.raises(ValidationError, match="prerequisite_level must be below level"):
        CertificationRule.model_validate({**one, "prerequisite_level": "senior"})
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        CertificationRule.model_validate({**one, "min_credit_hours": "-1"})
