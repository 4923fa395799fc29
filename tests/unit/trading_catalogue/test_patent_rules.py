"""Patent term from the law, filing dates against the number, free-text hygiene and the GB/T 2260 code
list (pure rules of issue 11)."""

from __future__ import annotations

from datetime import date

import pytest
from trading.fields import MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN, clean_line, clean_text
from trading.patents.domain import (
    ExtensionBasis,
    PatentRuleError,
    check_declared_expiry,
    check_extension,
    check_filing_date,
    claim_refusal,
    computed_expiry,
)
from trading.patents.identifiers import PatentKind, application_check_character, normalise_application_number
from trading.patents.regions import normalise_region, region_names

TODAY = date(2026, 12, 1)


def number(year: int, type_digit: str) -> str:
    first12 = f"{year}{type_digit}0000001"
    return first12 + application_check_character(first12)


@pytest.mark.parametrize(("kind", "filed", "last_day"), [
    (PatentKind.INVENTION, date(2005, 3, 10), date(2025, 3, 9)),
    (PatentKind.UTILITY_MODEL, date(2020, 7, 1), date(2030, 6, 30)),
    (PatentKind.DESIGN, date(2021, 5, 31), date(2031, 5, 30)),   # filed before 2021-06-01: 10 years
    (PatentKind.DESIGN, date(2021, 6, 1), date(2036, 5, 31)),    # from that day: 15 years
    (PatentKind.INVENTION, date(2004, 2, 29), date(2024, 2, 28)),  # a leap day's anniversary in a leap year
    (PatentKind.UTILITY_MODEL, date(2024, 2, 29), date(2034, 2, 28)),  # ... and in a common year (1 March - 1)
])
def test_the_term_is_computed_from_kind_and_filing_date(kind: PatentKind, filed: date, last_day: date) -> None:
    assert computed_expiry(kind, filed) == last_day


def test_a_recorded_extension_adds_days_for_inventions_only() -> None:
    assert computed_expiry(PatentKind.INVENTION, date(2010, 1, 1), 100) == date(2030, 4, 10)
    with pytest.raises(PatentRuleError, match="only an invention"):
        check_extension(PatentKind.DESIGN, ExtensionBasis.EXAMINATION_DELAY, 10)
    with pytest.raises(PatentRuleError, match="at most 5 years"):
        check_extension(PatentKind.INVENTION, ExtensionBasis.NEW_DRUG, 5 * 366 + 1)


def test_a_declared_expiry_may_be_earlier_never_later() -> None:
    computed = date(2042, 2, 28)
    check_declared_expiry(date(2030, 1, 1), computed)
    with pytest.raises(PatentRuleError, match="2042-02-28 at the latest") as refused:
        check_declared_expiry(date(2045, 1, 1), computed)
    assert refused.value.field == "expires_on"


def test_the_filing_year_must_be_the_numbers_except_pct_up_to_three_years_earlier() -> None:
    check_filing_date(number(2005, "1"), date(2005, 6, 1), TODAY)
    with pytest.raises(PatentRuleError, match="filed in 2005"):
        check_filing_date(number(2005, "1"), date(2004, 12, 31), TODAY)
    check_filing_date(number(2019, "8"), date(2016, 12, 31), TODAY)
    with pytest.raises(PatentRuleError, match="PCT"):
        check_filing_date(number(2019, "8"), date(2015, 12, 31), TODAY)
    with pytest.raises(PatentRuleError, match="future"):
        check_filing_date(number(2026, "1"), date(2026, 12, 2), TODAY)


def test_a_verified_patent_refuses_other_claims_without_saying_whose_it_is() -> None:
    assert claim_refusal("A", None) is None
    refused = claim_refusal("B", "A")
    assert refused is not None and refused.kind == "registered-to-another-owner" and "A" not in str(refused)
    own = claim_refusal("A", "A")
    assert own is not None and own.kind == "already-owner"


def test_every_written_form_is_one_number() -> None:
    canonical = number(2023, "1")
    dotted = f"{canonical[:12]}.{canonical[12]}"
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in f"ZL{dotted}")
    for form in (dotted, canonical, f"ZL{dotted}", f"CN {dotted}", f"cn{canonical}", full_width, f" {dotted} "):
        assert normalise_application_number(form) == canonical


@pytest.mark.parametrize("text", ["a\u0000b", "a\u001bb", "a\u202eb", "a\u200bb", "a\u0085b", "\ufeffab"])
def test_free_text_refuses_control_and_invisible_characters(text: str) -> None:
    import re

    with pytest.raises(ValueError, match="control or invisible character"):
        clean_line(text)
    assert not re.search(SINGLE_LINE_PATTERN, text), "the OpenAPI pattern says the same"


def test_free_text_is_nfc_and_multi_line_text_keeps_its_breaks() -> None:
    import re

    assert clean_line("Cafe\u0301") == "Caf\u00e9"
    assert clean_text("line one\nline two\tend") == "line one\nline two\tend"
    assert re.search(MULTI_LINE_PATTERN, "line one\nline two")
    with pytest.raises(ValueError, match="U\\+000A at position 9"):
        clean_line("line one\nline two")
    assert clean_line("新材料\U000e0100") == "新材料\U000e0100", "a variation selector is not refused"


def test_region_codes_come_from_the_gb2260_list() -> None:
    assert region_names()["210200"] == "大连市" and region_names()["210000"] == "辽宁省"
    assert normalise_region("210202") == "210202"
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "210200")
    for code, message in (("990000", "province code"), ("210299", "not in the GB/T 2260 code list"),
                          (full_width, "six digits")):
        with pytest.raises(ValueError, match=message):
            normalise_region(code)
