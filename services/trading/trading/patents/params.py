"""Patent numbers in query parameters: every written form a body accepts (dotted, `ZL`, `CN`, full-width,
spaces) is accepted here too and canonicalised before use."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from servicekit.problems import ProblemError

from trading.patents.identifiers import APPLICATION_NUMBER_PATTERN, IdentifierError, normalise_application_number

ApplicationNumberQuery = Annotated[str | None, Query(
    max_length=40, description="An application or patent number in any written form (202310123456.6, "
                               "ZL202310123456.6, CN 2023 1 0123456.6, without the dot)",
    examples=["202310123456.6"], json_schema_extra={"pattern": APPLICATION_NUMBER_PATTERN})]


def application_number_param(value: str | None, name: str = "application_number") -> str | None:
    """The canonical 13-character form, or 422 naming the parameter and what is wrong."""
    if value is None:
        return None
    try:
        return normalise_application_number(value)
    except IdentifierError as exc:
        raise ProblemError(422, "Invalid request", f"{name}: {exc}", kind="validation",
                           errors=[{"query": name, "detail": str(exc)}]) from None
