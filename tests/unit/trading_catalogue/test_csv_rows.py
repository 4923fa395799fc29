"""Validation of CSV rows for the bulk import (pure)."""

from __future__ import annotations

from trading.imports.cli import chunks
from trading.imports.rows import GoodRow, RowError, parse, validate_row
from trading.patents.identifiers import application_check_character

FIRST12 = "202110000001"
GOOD_NUMBER = f"{FIRST12}.{application_check_character(FIRST12)}"


def row(**overrides: str) -> dict[str, str]:
    base = {"application_number": GOOD_NUMBER, "patent_kind": "invention", "title": "锂电池隔膜",
            "ipc_codes": "H01M 10/0525; H01M 4/13", "industry": "new_energy", "region_code": "210200",
            "legal_status": "granted", "filing_date": "2021-03-01", "deal_types": "assignment;ordinary_licence",
            "price_yuan": "1,234.50"}
    base.update(overrides)
    return base


def test_a_good_row_becomes_a_listing() -> None:
    result = validate_row(2, row())
    assert isinstance(result, GoodRow)
    assert result.listing.price_fen == 123_450
    assert result.listing.ipc_codes == ["H01M 10/0525", "H01M 4/13"]
    assert result.listing.application_number == GOOD_NUMBER.replace(".", "")
    assert validate_row(2, row(price_yuan="")).listing.price_fen is None  # type: ignore[union-attr]


def test_every_error_of_a_row_names_its_column() -> None:
    result = validate_row(7, row(application_number="202110000001.0", ipc_codes="H01M;Q9", title="",
                                 price_yuan="12.345", deal_types="barter"))
    assert isinstance(result, list)
    where = {(e.row, e.column) for e in result}
    assert where == {(7, "price_yuan"), (7, "application_number"), (7, "ipc_codes"), (7, "title"),
                     (7, "deal_types")}
    reasons = {e.column: e.reason for e in result}
    assert "item 2" in reasons["ipc_codes"] and "2 decimals" in reasons["price_yuan"]


def test_cross_field_rules_are_reported_on_their_column() -> None:
    result = validate_row(3, row(patent_kind="design", ipc_codes="", locarno_classes="12-16"))
    assert result == [RowError(3, "patent_kind", "the application number's type digit says invention, not design")]
    result = validate_row(3, row(deal_types="open_licence;sole_licence", open_licence_terms="3%"))
    assert isinstance(result, list) and result[0].column == "deal_types"


def test_parse_numbers_rows_like_a_spreadsheet_and_checks_the_header() -> None:
    header = ",".join(row())
    good = ",".join(f'"{v}"' for v in row().values())
    bad = ",".join(f'"{v}"' for v in row(region_code="99").values())
    parsed = parse("\ufeff" + "\n".join([header, good, "", bad]) + "\n")
    assert [g.row for g in parsed.good] == [2]
    assert [(e.row, e.column) for e in parsed.errors] == [(4, "region_code")]
    assert parse(f"{header}\n{bad}\n", first_row=202).errors[0].row == 202
    unknown = parse("application_number,colour\n1,red\n")
    assert unknown.errors[0].row == 1 and "colour" in unknown.errors[0].reason
    missing = parse("application_number,title\n1,x\n")
    assert missing.errors[-1].row == 1 and "missing column" in missing.errors[-1].reason


def test_chunks_keep_the_header_and_row_numbers_and_quoted_line_breaks() -> None:
    text = 'a,b\n1,"x\ny"\n2,z\n3,w\n'
    parts = chunks(text, 2)
    assert [(first, count) for first, _, count in parts] == [(2, 2), (4, 1)]
    assert parts[0][1] == 'a,b\n1,"x\ny"\n2,z\n' and parts[1][1] == "a,b\n3,w\n"


def test_an_infinite_price_is_a_row_error_not_a_crash() -> None:
    # Found by the fuzz: Decimal parses "inf", and turning it into fen raised OverflowError (a 500).
    for price in ("inf", "-Infinity", "NaN"):
        result = validate_row(4, row(price_yuan=price))
        assert isinstance(result, list) and [e.column for e in result] == ["price_yuan"], price
