"""HTTP shapes of fairs and their statistics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from trading.fairs.domain import FairStatus
from trading.fields import SINGLE_LINE_PATTERN, Name, OrganisationId, clean_line
from trading.listings.models import RegionCode

FairDay = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31),
                                description="A day between 2000-01-01 and 2100-12-31",
                                json_schema_extra={"pattern": r"^(?:20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"})]
Venue = Annotated[str, Field(min_length=2, max_length=300, json_schema_extra={"pattern": SINGLE_LINE_PATTERN}),
                  AfterValidator(clean_line)]


class FairCreate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name = Field(examples=["China International Patent Technology and Products Fair 2027"])
    venue: Venue = Field(examples=["Dalian World Expo Center"])
    region_code: RegionCode = Field(description="Where the fair is held: a GB/T 2260 code")
    starts_on: FairDay
    ends_on: FairDay


class ExhibitorAdd(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organisation_id: OrganisationId


class ExhibitAdd(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    listing_id: str = Field(min_length=1, max_length=64)


class ShownListing(BaseModel):
    listing_id: str
    organisation_id: str
    shown_at: datetime


class FairRead(BaseModel):
    id: str
    name: str
    venue: str
    region_code: str
    starts_on: date
    ends_on: date
    status: FairStatus
    exhibitors: list[str]
    shown_listings: list[ShownListing]
    version: int
    created_at: datetime
    updated_at: datetime


class FairPage(BaseModel):
    items: list[FairRead]
    next_cursor: str | None


class DealFigures(BaseModel):
    count: int
    amount_fen: int = Field(description="Upfront fees (licences), prices (transfers) or loan amounts (pledges)")


class FairStatistics(BaseModel):
    fair_id: str
    status: FairStatus
    exhibitors: int
    listings_shown: int
    negotiations: int
    offers: int
    offers_accepted: int
    licences: DealFigures
    licences_by_type: dict[str, DealFigures]
    transfers: DealFigures = Field(description="Registered transfers")
    pledges: DealFigures = Field(description="Registered pledges (released ones included)")
    total_amount_fen: int
    as_of: datetime
