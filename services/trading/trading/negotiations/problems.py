"""problem+json answers the deal packages share."""

from __future__ import annotations

from typing import Any

from servicekit.problems import ProblemError


def invalid(pointer: str, detail: str) -> ProblemError:
    """Bad input found by a rule that needs the store: says where, like the kit's validation errors."""
    return ProblemError(422, "Invalid request", f"{pointer.removeprefix('#/')}: {detail}", kind="validation",
                        errors=[{"pointer": pointer, "detail": detail}])


def not_found(what: str, identifier: str) -> ProblemError:
    """Also the answer to someone who may not see it: they must not learn that it exists."""
    return ProblemError(404, "Not found", f"No {what} {identifier} that you can see.", kind="not-found")


def rule_refused(detail: str, kind: str = "rule-violation", **extensions: Any) -> ProblemError:
    """The request is well-formed but the resource's state does not allow it now."""
    return ProblemError(409, "Conflict", detail, kind=kind, **extensions)


def busy() -> ProblemError:
    return ProblemError(503, "Busy", "Too many concurrent changes to this patent; nothing was changed. Retry.",
                        kind="busy", headers={"Retry-After": "1"})
