"""HTTP shapes of activities and their reach reports."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from publicity.activities.domain import ActivityFormat, ActivityState, Audience
from publicity.common import Line, Text


class ActivityCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: Line = Field(min_length=1, max_length=64)
    held_on: date
    title: Line = Field(min_length=2, max_length=200, examples=["知识产权进社区宣讲"])
    responsible_unit: str = Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$",
                                  description="Unified Social Credit Code of the organisation responsible")
    theme: Text = Field(min_length=2, max_length=500)
    audiences: list[Audience] = Field(min_length=1, max_length=4)
    format: ActivityFormat
    venue: Line | None = Field(default=None, min_length=2, max_length=300)
    region_code: str = Field(pattern=r"^\d{6}$", examples=["210100"])
    expected_reach: int = Field(ge=0, le=100_000_000)


class Return(RequestModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=3, max_length=2000)


class ReachReport(RequestModel):
    model_config = ConfigDict(extra="forbid")

    participants: int = Field(ge=0, le=100_000_000)
    online_views: int = Field(ge=0, le=1_000_000_000)
    summary: Text = Field(min_length=3, max_length=5000)


class ReachRead(BaseModel):
    participants: int
    online_views: int
    summary: str
    reported_by: str
    reported_at: datetime


class ActivityRead(BaseModel):
    id: str
    campaign_id: str
    held_on: date
    title: str
    responsible_unit: str
    responsible_unit_name: str | None
    theme: str
    audiences: list[Audience]
    format: ActivityFormat
    venue: str | None
    region_code: str
    expected_reach: int
    state: ActivityState
    return_reason: str | None
    reach: ReachRead | None
    version: int
    submitted_by: str
    created_at: datetime
    updated_at: datetime


class ActivityPage(BaseModel):
    items: list[ActivityRead]
    next_cursor: str | None
