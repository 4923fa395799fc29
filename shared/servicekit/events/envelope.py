"""The CloudEvents 1.0 envelope, in the Kafka protocol binding's structured mode everywhere.

Structured mode puts the whole event (attributes and data) in the record value as JSON, with the
header `content-type: application/cloudevents+json`. We chose it over binary mode because a
dead-lettered or re-driven record then carries everything needed to understand it in one place.
The record key is the event's `subject` (the aggregate id), so each aggregate's events stay in order.

The envelope is a small pydantic model of our own rather than the CloudEvents SDK: the spec's
required attributes are few, and we want typed payloads validated by the same pydantic models that
generate the JSON Schemas.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from servicekit.correlation import causation_id, current_correlation_id

CONTENT_TYPE = "application/cloudevents+json"
# Reverse-DNS of the office's domain, then <service>.<aggregate>.<happening>.v<major>.
EVENT_TYPE_PREFIX = "cn.ipo.ln"


class EventPayload(BaseModel):
    """Base of every event's `data`. Producers forbid unknown fields; each class names its type."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_type: ClassVar[str]


class ConsumedPayload(BaseModel):
    """Base of a consumer's view of another service's event: only the fields it uses, extra ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    event_type: ClassVar[str]


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: str = Field(default="1.0", pattern=r"^1\.0$")
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    time: AwareDatetime
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    correlationid: str = Field(min_length=1)
    causationid: str | None = None
    data: dict[str, Any]

    @classmethod
    def new(cls, source: str, subject: str, payload: EventPayload) -> Self:
        """A new event caused by the work in progress (its correlation and causation ids)."""
        return cls(
            id=str(uuid.uuid4()),
            source=source,
            type=payload.event_type,
            subject=subject,
            time=datetime.now(UTC),
            correlationid=current_correlation_id(),
            causationid=causation_id.get(),
            data=payload.model_dump(mode="json"),
        )

    def to_record_value(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_record_value(cls, value: bytes | None) -> Self:
        if value is None:
            raise MalformedEvent("record has no value")
        try:
            return cls.model_validate_json(value)
        except ValidationError as exc:
            raise MalformedEvent(f"not a CloudEvents 1.0 structured event: {exc.errors()[:3]}") from exc


class MalformedEvent(ValueError):
    """A record that can never be processed as it stands: retrying will not help."""


def record_headers() -> list[tuple[str, bytes]]:
    return [("content-type", CONTENT_TYPE.encode())]


def describe(value: bytes | None) -> str:
    """A short, safe rendering of a record value for logs and dead-letter headers."""
    if value is None:
        return "<none>"
    try:
        return json.dumps(json.loads(value))[:200]
    except ValueError:
        return repr(value[:200])
