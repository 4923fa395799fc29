"""Integration events training publishes about enrolments (its public contract, topic training.events,
key = enrolment id)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import Field, field_serializer
from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class EnrolmentCompleted(EventPayload):
    """A talent passed a course's assessment: the registry credits `credit_hours` once per enrolment and
    records the certificate number for its public credential check."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.training.enrolment.completed.v1"

    enrolment_id: str
    talent_id: str
    course_id: str
    course_title: str
    session_id: str
    credit_hours: Decimal = Field(description="Credit hours earned, a decimal serialised as a string, e.g. \"16.5\"")
    categories: list[str] = Field(description="Talent categories the course counts toward (may be empty)")
    certificate_number: str
    score: int = Field(ge=0, le=100)
    completed_at: datetime

    @field_serializer("credit_hours", when_used="json")
    def _decimal_as_string(self, value: Decimal) -> str:
        return str(value)
