"""HTTP shapes of enrolments and certificates, unknown fields refused."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from training.enrolments.domain import EnrolmentState


class EnrolmentCreate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    talent_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_:-]+$",
                           description="The registry's talent id (a participant enrols only itself)")


class CancelBody(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=2, max_length=500)


class AssessmentBody(RequestModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=0, le=100, description="Assessment score; at or above the course's pass mark completes")


class HistoryEntry(BaseModel):
    state: EnrolmentState
    at: datetime
    by: str
    reason: str | None = None


class EnrolmentRead(BaseModel):
    id: str
    session_id: str
    course_id: str
    talent_id: str
    talent_status: str | None = Field(description="The talent's status in training's projection of the registry; "
                                                  "not active means attendance and assessment are refused")
    state: EnrolmentState
    version: int
    queue_position: int | None = Field(description="Place in the waitlist's order while waitlisted")
    score: int | None
    passed: bool | None
    certificate_number: str | None
    completed_at: datetime | None
    cancel_reason: str | None
    requested_at: datetime
    updated_at: datetime
    history: list[HistoryEntry]


class EnrolmentPage(BaseModel):
    items: list[EnrolmentRead]


class CertificateRead(BaseModel):
    """Public: what a certificate number proves."""

    certificate_number: str
    talent_id: str
    talent_name: str | None
    course_id: str
    course_title: str
    credit_hours: Decimal
    training_base_id: str
    score: int
    completed_at: datetime
