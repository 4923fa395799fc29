"""HTTP shape of a talent's credit ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


class LedgerEntryRead(BaseModel):
    enrolment_id: str
    course_id: str
    course_title: str
    session_id: str
    credit_hours: Decimal
    categories: list[str]
    certificate_number: str
    score: int
    completed_at: datetime
    credited_at: datetime


class LedgerRead(BaseModel):
    talent_id: str
    total_hours: Decimal
    hours_by_category: dict[str, Decimal]
    entries: list[LedgerEntryRead]
