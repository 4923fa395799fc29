"""HTTP shapes of campaigns and their pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from publicity.campaigns.domain import CampaignStatus
from publicity.common import Line, Text


class CampaignCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=2, max_length=200, examples=["4.26 IP Publicity Week 2027"])
    theme: Text = Field(min_length=2, max_length=500, examples=["全面加强知识产权保护 推动构建新发展格局"])
    starts_on: date = Field(examples=["2027-04-20"])
    ends_on: date = Field(examples=["2027-04-26"])
    organisers: list[Line] = Field(min_length=1, max_length=20,
                                   examples=[["Liaoning Intellectual Property Office"]])


class PinChange(RequestModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["fair", "session"]
    item_id: Line = Field(min_length=1, max_length=64)
    shown: bool = Field(description="true pins the item to the page, false hides it")


class Pin(BaseModel):
    kind: str
    item_id: str
    shown: bool
    by: str
    at: datetime


class CampaignRead(BaseModel):
    id: str
    name: str
    theme: str
    starts_on: date
    ends_on: date
    organisers: list[str]
    status: CampaignStatus
    pins: list[Pin]
    version: int
    created_at: datetime
    updated_at: datetime


class CampaignPage(BaseModel):
    items: list[CampaignRead]
    next_cursor: str | None


class FairFigures(BaseModel):
    listings_shown: int
    offers: int
    licences: int
    transfers: int
    pledges: int
    total_amount_fen: int


class CampaignItem(BaseModel):
    kind: str
    id: str
    title: str
    starts_on: date
    ends_on: date
    venue: str | None = None
    region_code: str | None = None
    status: str
    pinned: bool
    figures: FairFigures | None = Field(default=None, description="A closed fair's final figures")


class CampaignTotals(BaseModel):
    fairs: int
    sessions: int = Field(description="Training sessions inside the campaign's dates (or pinned)")
    fair_deals: int = Field(description="Licences, transfers and pledges signed at the campaign's closed fairs")
    fair_deal_amount_fen: int
    events: int = Field(description="The campaign's own public events")
    registrations: int = Field(description="Confirmed places at the campaign's events")
    check_ins: int
    activities: int = Field(description="Accepted activities submitted by participating units")
    expected_reach: int
    reached_participants: int = Field(description="Participants reported after the activities")
    reached_online_views: int


class CampaignOverview(BaseModel):
    campaign: CampaignRead
    items: list[CampaignItem]
    totals: CampaignTotals
