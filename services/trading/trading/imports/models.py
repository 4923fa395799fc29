"""The import report: what happened to every row."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class ImportOutcome(StrEnum):
    CREATED = "created"
    ALREADY_PRESENT = "already_present"
    REJECTED = "rejected"


class ImportRowResult(BaseModel):
    row: int
    outcome: ImportOutcome
    listing_id: str | None = None
    status: str | None = None
    note: str | None = None


class ImportError(BaseModel):
    row: int
    column: str | None
    reason: str


class ImportReport(BaseModel):
    rows_total: int
    created: int = 0
    already_present: int = 0
    rejected: int = 0
    rows: list[ImportRowResult] = []
    errors: list[ImportError] = []
