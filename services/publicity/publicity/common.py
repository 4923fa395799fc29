"""What every publicity package shares: who is calling, problem answers, request text rules, time."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends
from pydantic import AfterValidator, Field
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


# What the text fields refuse, as JSON Schema patterns that the API enforces itself too (so the OpenAPI
# says exactly what is accepted): C0 and C1 control characters (new lines and tabs allowed in running
# text) and white space at either end (refused, never stripped). The classes are spelled out rather than
# `\s`, whose meaning differs between Python and ECMA-262 regular expressions.
_SPACE = "\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_CONTROL = "\\x00-\\x1f\\x7f-\\x9f"
_CONTROL_BUT_LINES = "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f"
LINE_PATTERN = f"^(?:[^{_SPACE}{_CONTROL}](?:[^{_CONTROL}]*[^{_SPACE}{_CONTROL}])?)?$"
TEXT_PATTERN = f"^(?:[^{_SPACE}{_CONTROL}](?:[^{_CONTROL_BUT_LINES}]*[^{_SPACE}{_CONTROL}])?)?$"


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


Line = Annotated[str, Field(pattern=LINE_PATTERN), AfterValidator(_nfc)]
"""One line of text: no control characters, no surrounding white space (refused, never stripped); NFC."""
Text = Annotated[str, Field(pattern=TEXT_PATTERN), AfterValidator(_nfc)]
"""Running text: as Line, but new lines and tabs are allowed inside."""


def invalid(pointer: str, detail: str) -> ProblemError:
    return ProblemError(422, "Invalid request", f"{pointer.removeprefix('#/')}: {detail}", kind="validation",
                        errors=[{"pointer": pointer, "detail": detail}])


def not_found(what: str, identifier: str) -> ProblemError:
    return ProblemError(404, "Not found", f"No {what} {identifier} that you can see.", kind="not-found")


def rule_refused(detail: str, kind: str = "rule-violation", **extensions: Any) -> ProblemError:
    return ProblemError(409, "Conflict", detail, kind=kind, **extensions)
