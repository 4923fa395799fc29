"""Reading a CSV of listings and validating every row (pure, no I/O).

The file has a header row naming its columns (any order; unknown columns are refused once, as an error
on row 1). Lists (IPC codes, Locarno classes, co-owners, deal types) are separated by `;`. The price is
in yuan (`price_yuan`, decimals allowed, empty = negotiable) because that is how organisers write it; it
is stored in fen. Row numbers are the file's line-based row numbers as a spreadsheet shows them: the
header is row 1, the first listing row 2.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import TypeAdapter, ValidationError

from trading.fields import OrganisationId
from trading.listings.domain import RuleViolation
from trading.listings.models import ListingCreate
from trading.listings.service import check_create_rules

LIST_COLUMNS = ("ipc_codes", "locarno_classes", "co_owner_organisation_ids", "deal_types")
REQUIRED_COLUMNS = ("application_number", "patent_kind", "title", "industry", "region_code", "legal_status",
                    "filing_date", "deal_types")
OPTIONAL_COLUMNS = ("expires_on", "abstract", "ipc_codes", "locarno_classes", "co_owner_organisation_ids",
                    "agent_organisation_id", "price_yuan", "open_licence_terms", "owner_organisation_id")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# Where a body field comes from in the file, when the names differ.
COLUMN_OF_FIELD = {"price_fen": "price_yuan"}
MAX_ROWS = 5000
_ORGANISATION: TypeAdapter[str] = TypeAdapter(OrganisationId)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None
    reason: str


@dataclass(frozen=True)
class GoodRow:
    row: int
    listing: ListingCreate
    owner_organisation_id: str | None  # from the file; None = the importer's default owner


@dataclass(frozen=True)
class ParsedFile:
    good: list[GoodRow]
    errors: list[RowError]
    rows_total: int


def _price_fen(text: str) -> int | None:
    if not text:
        return None
    try:
        yuan = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount in yuan, e.g. 500000 or 12.50") from None
    if not yuan.is_finite():  # Decimal("inf") parses, and int() of it was a 500
        raise ValueError(f"{text!r} is not an amount in yuan, e.g. 500000 or 12.50")
    fen = yuan * 100
    if fen != fen.to_integral_value() or fen < 0:
        raise ValueError(f"{text!r} is not a non-negative amount with at most 2 decimals")
    return int(fen)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def validate_row(number: int, raw: dict[str, str]) -> GoodRow | list[RowError]:
    """One row as a listing to create, or every error found in it."""
    errors: list[RowError] = []
    body: dict[str, Any] = {}
    for column in COLUMNS:
        value = (raw.get(column) or "").strip()
        if column == "price_yuan":
            try:
                body["price_fen"] = _price_fen(value)
            except ValueError as exc:
                errors.append(RowError(number, column, str(exc)))
        elif column == "owner_organisation_id":
            continue
        elif column in LIST_COLUMNS:
            if value:
                body[column] = _split(value)
        elif value:
            body[column] = value
    owner = (raw.get("owner_organisation_id") or "").strip() or None
    if owner is not None:
        try:
            owner = _ORGANISATION.validate_python(owner)
        except ValidationError as exc:
            reason = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            errors.append(RowError(number, "owner_organisation_id", reason))
    try:
        listing = ListingCreate.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            loc = error.get("loc", ())
            field = str(loc[0]) if loc else None
            reason = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            if field in LIST_COLUMNS and len(loc) > 1 and isinstance(loc[1], int):
                reason = f"item {loc[1] + 1}: {reason}"
            if error.get("type") == "missing":
                reason = "required, but empty"
            errors.append(RowError(number, COLUMN_OF_FIELD.get(field or "", field), reason))
        return errors
    try:
        check_create_rules(listing)
    except RuleViolation as violation:
        errors.append(RowError(number, violation.field, str(violation)))
    if errors:
        return errors
    return GoodRow(number, listing, owner)


def parse(text: str, first_row: int = 2) -> ParsedFile:
    """Every row of a CSV text (header first). `first_row` is the number of the first data row, so a
    file sent in chunks (header repeated) keeps the row numbers of the whole file."""
    # csv.reader rather than DictReader: it yields blank lines too (as []), so numbering stays the file's.
    records = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in next(records, [])]
    errors: list[RowError] = []
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if unknown:
        errors.append(RowError(1, unknown[0], f"unknown column(s): {', '.join(unknown)}; known: {', '.join(COLUMNS)}"))
    if missing:
        errors.append(RowError(1, missing[0], f"missing column(s): {', '.join(missing)}"))
    if errors:
        return ParsedFile([], errors, 0)
    good: list[GoodRow] = []
    total = 0
    for offset, cells in enumerate(records):
        number = first_row + offset
        if not any(c.strip() for c in cells):
            continue  # a blank line
        total += 1
        if total > MAX_ROWS:
            errors.append(RowError(number, None, f"more than {MAX_ROWS} rows in one upload; split the file"))
            break
        if len(cells) > len(header):
            errors.append(RowError(number, None, "more cells than the header has columns"))
            continue
        raw = dict(zip(header, cells, strict=False))
        result = validate_row(number, raw)
        if isinstance(result, GoodRow):
            good.append(result)
        else:
            errors.extend(result)
    return ParsedFile(good, errors, total)
