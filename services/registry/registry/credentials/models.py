"""What the public credential check shows: public fields and validity, nothing else."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from registry.talents.domain import TalentCategory, TalentLevel, TalentStatus
from registry.talents.models import TalentPublic


class TalentCheck(BaseModel):
    valid: bool
    talent: TalentPublic


class HolderRead(BaseModel):
    registration_number: str
    name: str
    status: TalentStatus


class CertificateCheck(BaseModel):
    certificate_number: str
    kind: str  # training_completion or certification
    valid: bool
    holder: HolderRead
    # training_completion
    course_id: str | None = None
    course_title: str | None = None
    credit_hours: Decimal | None = None
    completed_at: datetime | None = None
    # certification
    level: TalentLevel | None = None
    category: TalentCategory | None = None
    granted_at: datetime | None = None
