"""Credit-ledger arithmetic: Decimal hours, per category, and what marks a completion as credited."""

from __future__ import annotations

from decimal import Decimal

from registry.credits.domain import completed_courses, hours_by_category, ledger_marker, total_hours

ENTRIES = [
    {"course_id": "c1", "credit_hours": "0.1", "categories": ["ip_services"]},
    {"course_id": "c2", "credit_hours": "0.2", "categories": ["ip_services", "patent_agency"]},
    {"course_id": "c1", "credit_hours": "3", "categories": []},
]


def test_totals_are_exact_decimals() -> None:
    assert total_hours(ENTRIES) == Decimal("3.3")  # 0.1 + 0.2 in floats would not be 0.3
    assert hours_by_category(ENTRIES) == {"ip_services": Decimal("0.3"), "patent_agency": Decimal("0.2")}
    assert total_hours([]) == Decimal(0) and hours_by_category([]) == {}


def test_courses_and_marker() -> None:
    assert completed_courses(ENTRIES) == {"c1", "c2"}
    assert ledger_marker("enr-1") == "enrolment:enr-1"
