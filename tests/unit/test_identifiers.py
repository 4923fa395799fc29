"""Unified Social Credit Codes (GB 32100-2015) and GB/T 2260 region codes."""

from __future__ import annotations

import pytest
from registry.organisations.identifiers import (
    USCC_ALPHABET,
    IdentifierError,
    city_of,
    uscc_check_character,
    validate_region,
    validate_uscc,
)

# A published example (Fujian, Fuzhou) and one registered in Shenyang.
KNOWN_VALID = ("91350100M000100Y43", "91210100MA0QTEXT09")


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_codes_are_valid(code: str) -> None:
    assert validate_uscc(code) == code
    assert uscc_check_character(code[:17]) == code[17]


def test_input_is_trimmed_and_upper_cased() -> None:
    assert validate_uscc("  91210100ma0qtext09 ") == "91210100MA0QTEXT09"


def test_the_alphabet_leaves_out_easily_misread_letters() -> None:
    assert len(USCC_ALPHABET) == 31
    assert not set("IOZSV") & set(USCC_ALPHABET)


@pytest.mark.parametrize("code", ["91210100MA0QTEXT0", "91210100MA0QTEXT091", ""])
def test_wrong_length_is_refused(code: str) -> None:
    with pytest.raises(IdentifierError, match=f"18 characters, this has {len(code)}"):
        validate_uscc(code)


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letters_are_refused(letter: str) -> None:
    code = "91210100MA0QTEXT0" + letter
    with pytest.raises(IdentifierError, match=f"not allowed in a Unified Social Credit Code: {letter}"):
        validate_uscc(code)


def test_forbidden_letters_are_named_once_and_sorted() -> None:
    with pytest.raises(IdentifierError, match=r"not allowed in a Unified Social Credit Code: OSZ$"):
        validate_uscc("91210100MAZQTOXS09")


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_every_other_check_character_is_refused(code: str) -> None:
    for wrong in USCC_ALPHABET.replace(code[17], ""):
        with pytest.raises(IdentifierError, match=f"check character is '{wrong}' but should be '{code[17]}'"):
            validate_uscc(code[:17] + wrong)


def test_a_single_changed_character_breaks_the_check() -> None:
    code = "91210100MA0QTEXT09"
    with pytest.raises(IdentifierError, match="check character"):
        validate_uscc(code[:10] + "R" + code[11:])


def test_the_region_part_must_be_digits() -> None:
    body = "91AB0100MA0QTEXT0"
    with pytest.raises(IdentifierError, match="GB/T 2260"):
        validate_uscc(body + uscc_check_character(body))


@pytest.mark.parametrize("code", ["210000", "210100", "210200", "211400", "110105", "350100"])
def test_valid_region_codes(code: str) -> None:
    assert validate_region(code) == code


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("219900", "219900 is not a city of Liaoning"),
        ("211500", "211500 is not a city of Liaoning"),
        ("990000", "99 is not a GB/T 2260 province code"),
        ("21010", "six digits"),
        ("2101000", "six digits"),
        ("21O100", "six digits"),
        ("", "six digits"),
    ],
)
def test_invalid_region_codes(code: str, message: str) -> None:
    with pytest.raises(IdentifierError, match=message):
        validate_region(code)


def test_city_of_a_district_is_its_prefecture() -> None:
    assert city_of("210102") == "210100"
    assert city_of("210200") == "210200"
