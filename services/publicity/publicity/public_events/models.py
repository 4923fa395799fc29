"""HTTP shapes of public events, registrations and scans."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field
from servicekit.schemas import RequestModel

from publicity.common import Line, Text
from publicity.public_events.domain import MAX_GROUP, RegistrationState, ScanOutcome


class EventCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    title: Line = Field(min_length=2, max_length=200, examples=["知识产权进校园"])
    description: Text = Field(default="", max_length=5000)
    venue: Line = Field(min_length=2, max_length=300, examples=["Shenyang Library"])
    region_code: str = Field(pattern=r"^\d{6}$", examples=["210100"])
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    capacity: int = Field(ge=1, le=100_000)
    campaign_id: Line | None = Field(default=None, min_length=1, max_length=64)
    organisers: list[Line] = Field(default_factory=list, max_length=50,
                                   description="Login subjects of the event's other organisers (the creator is one); "
                                               "only organisers see registrants' contact data and scan tickets")


class EventRead(BaseModel):
    """Public: no registrant appears here."""

    id: str
    title: str
    description: str
    venue: str
    region_code: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    confirmed_places: int
    waitlisted_places: int
    places_left: int
    campaign_id: str | None
    version: int


class EventPage(BaseModel):
    items: list[EventRead]
    next_cursor: str | None


class RegistrationCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=100)
    email: EmailStr
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 -]{5,19}$")
    places: int = Field(default=1, ge=1, le=MAX_GROUP, description="A group registration: all places or none")


class RegistrationRead(BaseModel):
    """For the registrant (through its unguessable link) and the event's organisers only."""

    id: str
    event_id: str
    places: int
    state: RegistrationState
    waitlist_position: int | None = Field(default=None, description="1 = next to be promoted")
    ticket_code: str
    cancel_url: str = Field(description="POST here to give up the places (keep it secret: it is the key)")
    name: str
    email: str
    phone: str | None
    checked_in_at: datetime | None
    created_at: datetime


class RegistrationPage(BaseModel):
    items: list[RegistrationRead]
    next_cursor: str | None


class ScanCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    ticket_code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    nonce: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                       description="Unique per scan on the device: a retried upload of the same scan is one scan")
    device_id: Line = Field(min_length=1, max_length=64)
    gate: Line | None = Field(default=None, min_length=1, max_length=64)
    scanned_at: AwareDatetime = Field(description="The device's clock when it scanned")
    offline: bool = Field(default=False, description="Scanned while offline and uploaded later")


class ScanRead(BaseModel):
    id: str
    event_id: str
    registration_id: str | None
    outcome: ScanOutcome
    device_id: str
    gate: str | None
    client_time: datetime
    server_time: datetime
    offline: bool
    late_upload: bool


class DuplicateScans(BaseModel):
    registration_id: str
    devices: list[str]
    scans: int


class Reconciliation(BaseModel):
    event_id: str
    scans: int
    checked_in: int
    by_outcome: dict[str, int]
    duplicates_across_devices: list[DuplicateScans]
    late_uploads: list[ScanRead]
