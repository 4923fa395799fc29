"""CN application numbers (ZC 0006-2003), IPC codes and prefixes, Locarno classes, region codes."""

from __future__ import annotations

from datetime import date

import pytest
from trading.licences.domain import GrantedLicence, LicenceType, conflicts_with
from trading.licences.scope import FieldOfUse, Scope, Term, Territory
from trading.patents.identifiers import (
    IdentifierError,
    PatentKind,
    application_check_character,
    display_application_number,
    ipc_levels,
    kind_of_application,
    normalise_application_number,
    normalise_ipc,
    normalise_ipc_prefix,
    normalise_locarno,
    validate_uscc,
)
from trading.patents.regions import normalise_region, region_levels


def test_check_character_is_weighted_sum_mod_11() -> None:
    # 2,3,4,5,6,7,8,9,2,3,4,5 x 2,0,2,3,1,0,1,2,3,4,5,6 = 4+0+8+15+6+0+8+18+6+12+20+30 = 127; 127 % 11 = 6
    assert application_check_character("202310123456") == "6"
    # A remainder of 10 is written X: find one and check the rule holds for it.
    digits = next(f"2020100{n:05d}" for n in range(100000)
                  if sum(int(d) * w for d, w in zip(f"2020100{n:05d}", (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5),
                                                    strict=True)) % 11 == 10)
    assert application_check_character(digits) == "X"
    assert normalise_application_number(f"{digits}.x") == f"{digits}X"


# "ZL202310123456.6" typed with full-width characters, as Chinese input methods often do.
FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "ZL202310123456.6")


@pytest.mark.parametrize("raw", ["202310123456.6", "ZL202310123456.6", "CN 2023 1 0123456.6", "2023101234566",
                                 FULL_WIDTH, "zl202310123456.6"])
def test_accepted_forms_normalise_to_13_characters(raw: str) -> None:
    assert normalise_application_number(raw) == "2023101234566"
    assert display_application_number("2023101234566") == "202310123456.6"


@pytest.mark.parametrize(("raw", "message"), [
    ("202310123456.5", "check character is '5' but should be '6'"),
    ("202370123456.0", "type digit 7"),
    ("199810123456.1", "before 2003"),
    ("98112345.6", "8-digit number of the kind used before October 2003; it is refused because every patent"),
    ("ZL 02 1 23456.X", "8-digit number"),
    ("2023101234567890", "looks like"),
    ("", "looks like"),
])
def test_bad_application_numbers_say_why(raw: str, message: str) -> None:
    with pytest.raises(IdentifierError, match=message.replace("(", r"\(")):
        normalise_application_number(raw)


@pytest.mark.parametrize(("digit", "kind"), [("1", PatentKind.INVENTION), ("2", PatentKind.UTILITY_MODEL),
                                             ("3", PatentKind.DESIGN), ("8", PatentKind.INVENTION),
                                             ("9", PatentKind.UTILITY_MODEL)])
def test_type_digit_gives_the_kind(digit: str, kind: PatentKind) -> None:
    first12 = f"2022{digit}0000001"
    assert kind_of_application(normalise_application_number(first12 + application_check_character(first12))) == kind


@pytest.mark.parametrize(("raw", "canonical"), [("H01M 10/0525", "H01M 10/0525"), ("h01m10/0525", "H01M 10/0525"),
                                                ("A61K 031/4745", "A61K 31/4745"), ("B25J", "B25J")])
def test_ipc_codes_normalise(raw: str, canonical: str) -> None:
    assert normalise_ipc(raw) == canonical


@pytest.mark.parametrize("raw", ["I01M 10/05", "H1M 10/05", "H01M 10", "H01M 10/5", "H01", "H01M 12345/00"])
def test_bad_ipc_codes(raw: str) -> None:
    with pytest.raises(IdentifierError, match="not an IPC code"):
        normalise_ipc(raw)


def test_ipc_levels_and_prefixes() -> None:
    assert ipc_levels("H01M 10/0525") == ["H", "H01", "H01M", "H01M10", "H01M10/0525"]
    assert ipc_levels("B25J") == ["B", "B25", "B25J"]
    assert [normalise_ipc_prefix(p) for p in ("h", "H01", "H01M", "H01M 010", "H01M 10/0525")] == [
        "H", "H01", "H01M", "H01M10", "H01M10/0525"]
    with pytest.raises(IdentifierError):
        normalise_ipc_prefix("X12")


def test_locarno_and_regions() -> None:
    assert normalise_locarno("12-16") == "12-16"
    for bad in ("33-01", "1216", "00-01"):
        with pytest.raises(IdentifierError):
            normalise_locarno(bad)
    assert normalise_region("210211") == "210211"
    assert region_levels("210211") == ["210000", "210200", "210211"]
    assert region_levels("210000") == ["210000"]
    with pytest.raises(IdentifierError, match="province"):
        normalise_region("990000")


def test_credit_codes_are_checked() -> None:
    assert validate_uscc("91210200ma0qtext0e") == "91210200MA0QTEXT0E"
    with pytest.raises(IdentifierError, match="check character is 'X' but should be 'E'"):
        validate_uscc("91210200MA0QTEXT0X")


def test_conflict_messages_use_the_right_article() -> None:
    term = Term(date(2027, 1, 1), date(2027, 12, 31))
    scope = Scope(frozenset({FieldOfUse.parse("*")}), frozenset({Territory.parse("CN")}), term)
    sole = GrantedLicence("LIC-1", LicenceType.SOLE, scope)
    reason = conflicts_with(LicenceType.SOLE, scope, sole)
    assert reason is not None and reason.startswith("a sole licence") and "an sole" not in reason
