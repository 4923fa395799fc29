"""HTTP shapes of releases: officers' full view, the public view."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from publicity.common import Line, Text
from publicity.releases.domain import ReleaseState


class ReleaseContent(RequestModel):
    model_config = ConfigDict(extra="forbid")

    title: Line = Field(min_length=2, max_length=200, examples=["辽宁省知识产权宣传周开幕"])
    summary: Text = Field(default="", max_length=1000)
    body: Text = Field(min_length=1, max_length=50_000)
    title_en: Line | None = Field(default=None, min_length=2, max_length=200)
    summary_en: Text | None = Field(default=None, max_length=1000)
    body_en: Text | None = Field(default=None, min_length=1, max_length=50_000)
    campaign_id: Line | None = Field(default=None, min_length=1, max_length=64)


class ReleaseCreate(ReleaseContent):
    kind: Literal["press_release", "news"] = "press_release"


class Reason(RequestModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=3, max_length=2000)


class Explanation(RequestModel):
    model_config = ConfigDict(extra="forbid")

    explanation: Text = Field(min_length=3, max_length=2000,
                              description="Shown to the public on the withdrawn release's page")


class ChangeNote(RequestModel):
    model_config = ConfigDict(extra="forbid")

    change_note: Text = Field(min_length=3, max_length=2000,
                              description="What the new edition changes, shown in the version history")


class Scheduling(RequestModel):
    model_config = ConfigDict(extra="forbid")

    publish_at: AwareDatetime = Field(description="The embargo: at least 5 minutes ahead, with a time zone")


class Content(BaseModel):
    title: str
    summary: str
    body: str
    title_en: str | None = None
    summary_en: str | None = None
    body_en: str | None = None
    campaign_id: str | None = None


class ForcedPublication(BaseModel):
    by: str
    reason: str
    at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None


class HistoryEntry(BaseModel):
    edition: int
    action: str
    state: ReleaseState
    by: str
    at: datetime
    note: str | None = None


class Withdrawal(BaseModel):
    explanation: str
    at: datetime


class PublicRelease(BaseModel):
    id: str
    kind: str
    edition: int
    title: str
    summary: str
    body: str
    title_en: str | None = None
    summary_en: str | None = None
    body_en: str | None = None
    campaign_id: str | None = None
    first_published_at: datetime
    updated_at: datetime
    change_note: str | None = None
    withdrawn: Withdrawal | None = None


class ReleaseRead(BaseModel):
    id: str
    kind: str
    origin: str
    milestone: str | None = None
    state: ReleaseState
    edition: int
    content: Content
    change_note: str | None = None
    submitted_by: str | None = None
    scheduled_for: datetime | None = None
    forced: ForcedPublication | None = None
    public: PublicRelease | None = Field(default=None, description="What the public sees now (absent before)")
    history: list[HistoryEntry]
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class ReleasePage(BaseModel):
    items: list[ReleaseRead]
    next_cursor: str | None


class PublicReleasePage(BaseModel):
    items: list[PublicRelease]
