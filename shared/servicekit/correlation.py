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
    """The id in force, or a new one when this work started without any (not stored: work outside a
    request or an event, such as a script, must not hand one id to everything it does later)."""
    return correlation_id.get() or str(uuid.uuid4())
