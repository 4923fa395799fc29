"""HTTP shapes of licences, their recordal and royalty reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from trading.fields import ApplicationNumber, Reference
from trading.licences.domain import LicenceType, RecordalStatus


class LicenceScopeRead(BaseModel):
    fields_of_use: list[str]
    territories: list[str]
    term_start: date
    term_end: date


class RecordalRead(BaseModel):
    status: RecordalStatus = Field(description="pending, filed or recorded; overdue = pending past the deadline")
    deadline: date = Field(description="Three months after signature")
    overdue: bool
    filed_on: date | None
    recorded_on: date | None
    reference: str | None


class OpenLicenceNotice(RequestModel):
    """Take the patent's open licence at its published terms: an ordinary licence for every field of
    use in all of China, from `term_start` to `term_end` (default: today to the patent's expiry)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    application_number: ApplicationNumber
    term_start: date | None = Field(default=None, description="Default today")
    term_end: date | None = Field(default=None, description="Default the patent's last day in force")


class LicenceRead(BaseModel):
    id: str
    negotiation_id: str = Field(description="The negotiation it was signed in; for a licence taken by notice, "
                                            "the notice's id")
    taken_by_notice: bool = Field(default=False, description="An open licence taken by notice at its published "
                                                             "terms, with no negotiation")
    listing_id: str
    application_number: str
    patent_title: str
    licence_type: LicenceType
    licensor_organisation_id: str
    licensor_agent_organisation_id: str | None
    licensee_organisation_id: str
    scope: LicenceScopeRead
    upfront_fee_fen: int
    royalty_rate_percent: Decimal
    agent_organisation_id: str | None
    agent_talent_id: str | None
    signed_on: date
    recordal: RecordalRead
    fair_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class LicencePage(BaseModel):
    items: list[LicenceRead]
    next_cursor: str | None


class RecordalChange(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Literal[RecordalStatus.FILED, RecordalStatus.RECORDED]
    on: date | None = Field(default=None, description="When it was filed / recorded (default today)")
    reference: Reference | None = Field(default=None,
                                        description="The office's filing or recordal number")


class RoyaltyReportCreate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    period: str = Field(examples=["2026-Q3", "2026-09", "2026"], max_length=7)
    net_sales_fen: int = Field(ge=0, le=10**15, description="Net sales under the licence in the period, CNY fen")


class RoyaltyReportRead(BaseModel):
    id: str
    licence_id: str
    period: str
    period_start: date
    period_end: date
    net_sales_fen: int
    royalty_rate_percent: Decimal
    royalty_due_fen: int
    reported_by_organisation_id: str
    reported_at: datetime


class RoyaltyReportPage(BaseModel):
    items: list[RoyaltyReportRead]
    total_royalty_due_fen: int
