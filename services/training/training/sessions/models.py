"""HTTP shapes of sessions: separate Create / Update / Read models, unknown fields refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from servicekit.schemas import RequestModel, not_nullable

Venue = Annotated[str, Field(min_length=2, max_length=300)]
Capacity = Annotated[int, Field(ge=1, le=2000, description="Seats; further bookings join the waitlist")]
Coordinator = Annotated[str, Field(min_length=1, max_length=200, description="Subject id of the coordinator")]


class SessionCreate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    venue: Venue
    capacity: Capacity
    coordinator: Coordinator | None = Field(default=None, description="Defaults to the caller")

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SessionUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=not_nullable(
        "starts_at", "ends_at", "venue", "capacity", "coordinator"))

    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    venue: Venue | None = None
    capacity: Capacity | None = None
    coordinator: Coordinator | None = None


class SessionRead(BaseModel):
    id: str
    course_id: str
    course_title: str
    training_base_id: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    capacity: int
    coordinator: str
    seats_taken: int
    seats_free: int
    waitlisted: int
    version: int
    created_at: datetime
    updated_at: datetime


class SessionPage(BaseModel):
    items: list[SessionRead]
    next_cursor: str | None
