"""What every publicity package shares: who is calling, problem answers, request text rules, time."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends
from pydantic import AfterValidator
from servicekit.auth import Principal, Role, require_roles
from servicekit.problems import ProblemError

SOURCE = "/ipo/publicity"

Officer = Annotated[Principal, Depends(require_roles(Role.OFFICER))]
"""A publicity officer (admins too)."""

Staff = Annotated[Principal, Depends(require_roles(Role.OFFICER, Role.COORDINATOR))]


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """The store gives naive UTC datetimes back; make them aware again."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _clean(value: str, *, multiline: bool) -> str:
    value = unicodedata.normalize("NFC", value)
    allowed = {"\n", "\t"} if multiline else set()
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in allowed:
            raise ValueError(f"control or unassigned character U+{ord(ch):04X} is not allowed")
    if value.strip() != value:
        raise ValueError("leading or trailing white space is not allowed")
    return value


def _line(value: str) -> str:
    return _clean(value, multiline=False)


def _text(value: str) -> str:
    return _clean(value, multiline=True)


Line = Annotated[str, AfterValidator(_line)]
"""One line of text: NFC, no control characters, no surrounding spaces (refused, never stripped)."""
Text = Annotated[str, AfterValidator(_text)]
"""Running text: as Line, but new lines and tabs are allowed."""


def invalid(pointer: str, detail: str) -> ProblemError:
    return ProblemError(422, "Invalid request", f"{pointer.removeprefix('#/')}: {detail}", kind="validation",
                        errors=[{"pointer": pointer, "detail": detail}])


def not_found(what: str, identifier: str) -> ProblemError:
    return ProblemError(404, "Not found", f"No {what} {identifier} that you can see.", kind="not-found")


def rule_refused(detail: str, kind: str = "rule-violation", **extensions: Any) -> ProblemError:
    return ProblemError(409, "Conflict", detail, kind=kind, **extensions)
