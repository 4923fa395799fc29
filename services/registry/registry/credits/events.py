"""What the registry reads from training's events: only the fields it uses, extra ignored."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import Field
from servicekit.events.envelope import EVENT_TYPE_PREFIX, ConsumedPayload

TRAINING_TOPIC = "training.events"


class EnrolmentCompleted(ConsumedPayload):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.training.enrolment.completed.v1"

    enrolment_id: str = Field(min_length=1)
    talent_id: str = Field(min_length=1)
    course_id: str = Field(min_length=1)
    course_title: str
    session_id: str
    credit_hours: Decimal = Field(ge=0, description="serialised by training as a string")
    # The talent categories the course counts toward; kept as plain strings so that a category
    # training knows and this registry does not yet cannot make the event unprocessable.
    categories: list[str]
    certificate_number: str = Field(min_length=1)
    score: int = Field(ge=0, le=100)
    completed_at: datetime
