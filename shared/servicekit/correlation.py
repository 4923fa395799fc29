"""The correlation id of the user action being served, and the event that caused the current work.

Kept in context variables so that logs, outgoing events and error responses pick them up without
being passed around explicitly.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id: ContextVar[str | None] = ContextVar("causation_id", default=None)


def current_correlation_id() -> str:
    """The id in force, creating one if this work started without any."""
    value = correlation_id.get()
    if value is None:
        value = str(uuid.uuid4())
        correlation_id.set(value)
    return value
