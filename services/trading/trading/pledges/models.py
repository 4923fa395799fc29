"""HTTP shapes of pledges."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from trading.fields import OrganisationId, Reference
from trading.pledges.domain import PledgeStatus


class PledgeCreate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    listing_id: str = Field(min_length=1, max_length=64, description="The owner's listing of the patent pledged")
    pledgee_organisation_id: OrganisationId = Field(description="The lender (usually a bank)")
    amount_fen: int = Field(gt=0, le=10**15, description="The secured loan, CNY fen")
    loan_due_on: date | None = None
    fair_id: str | None = Field(default=None, max_length=64, description="The open fair where it was arranged")


class PledgeRegistration(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    on: date | None = Field(default=None, description="Default today")
    reference: Reference | None = Field(default=None)


class PledgeRead(BaseModel):
    id: str
    listing_id: str
    application_number: str
    patent_title: str
    pledgor_organisation_id: str
    co_owner_organisation_ids: list[str]
    pledgee_organisation_id: str
    amount_fen: int
    loan_due_on: date | None
    consents: dict[str, datetime]
    missing_consents: list[str]
    status: PledgeStatus
    registered_on: date | None
    released_on: date | None
    reference: str | None
    fair_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class PledgePage(BaseModel):
    items: list[PledgeRead]
    next_cursor: str | None
