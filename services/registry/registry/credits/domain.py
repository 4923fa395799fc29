"""The credit ledger: continuing-education credit hours, fed by training completions. Pure, no I/O.

Credit hours are Decimals (stored and shown as strings), never floats. A completion counts toward
the categories training says the course counts toward; a course with no categories is still in the
ledger and in the total, but counts toward no category's certification.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

Entry = Mapping[str, Any]


def total_hours(entries: Iterable[Entry]) -> Decimal:
    return sum((Decimal(str(e["credit_hours"])) for e in entries), Decimal(0))


def hours_by_category(entries: Iterable[Entry]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for entry in entries:
        for category in entry.get("categories") or []:
            totals[category] = totals.get(category, Decimal(0)) + Decimal(str(entry["credit_hours"]))
    return totals


def completed_courses(entries: Iterable[Entry]) -> set[str]:
    return {str(e["course_id"]) for e in entries}


def ledger_marker(enrolment_id: str) -> str:
    """What marks a completion as credited: the enrolment, not the event id, so that a completion
    re-published under a new event id is still credited once."""
    return f"enrolment:{enrolment_id}"
