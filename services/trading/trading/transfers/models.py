"""HTTP shapes of transfers (assignments)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from trading.fields import Reference
from trading.transfers.domain import TransferStatus


class TransferRegistration(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    registered_on: date | None = Field(default=None, description="Default today")
    reference: Reference | None = Field(default=None,
                                        description="The national office's registration number")


class TransferRead(BaseModel):
    id: str
    negotiation_id: str
    listing_id: str
    application_number: str
    patent_title: str
    assignor_organisation_id: str
    assignee_organisation_id: str
    price_fen: int
    agent_organisation_id: str | None
    agent_talent_id: str | None
    signed_on: date
    status: TransferStatus
    registered_on: date | None
    reference: str | None
    fair_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class TransferPage(BaseModel):
    items: list[TransferRead]
    next_cursor: str | None
