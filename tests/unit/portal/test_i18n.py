"""The portal's languages and locale formatting (pure: no stack)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from portal.apis import ApiProblem, field_errors, field_of
from portal.i18n import LOCALE_DIR, Formatter, pick_language, region_name, yuan_layout, yuan_to_fen

PORTAL = Path(__file__).resolve().parents[3] / "services" / "portal" / "portal"
# Every literal message of the templates and the code: _("…") in templates, gettext("…") in code.
_LITERAL = re.compile(r"""(?:\b_|gettext)\((["'])(.+?)\1\)""")


def _literal_messages() -> set[str]:
    found: set[str] = set()
    for path in [*PORTAL.glob("templates/*.html"), *PORTAL.rglob("*.py")]:
        found |= {m.group(2) for m in _LITERAL.finditer(path.read_text())}
    return found


def test_every_message_of_the_pages_has_a_chinese_translation() -> None:
    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="zh")
    translated = {str(m.id) for m in catalog if m.id and m.string}
    missing = sorted(_literal_messages() - translated)
    assert not missing, f"messages without a Chinese translation: {missing}"


def test_chinese_is_first_and_english_is_chosen_by_cookie_or_browser() -> None:
    assert pick_language(None, None) == "zh"
    assert pick_language(None, "en-GB,en;q=0.8") == "en"
    assert pick_language(None, "fr-FR,de") == "zh"
    assert pick_language("zh", "en-GB") == "zh"
    assert pick_language("en", None) == "en"
    assert pick_language("xx", "zh-CN") == "zh"


def test_amounts_in_fen_are_shown_in_yuan_by_locale() -> None:
    assert Formatter("zh").yuan(1_234_567_89) == "¥1,234,567.89"
    assert Formatter("en").yuan(50_000_00) == "CN¥50,000.00"
    assert Formatter("zh").yuan(None) == "面议"
    assert Formatter("en").yuan(None) == "Price on request"


def test_dates_follow_the_locale() -> None:
    assert Formatter("zh").date(dt.date(2026, 3, 5)) == "2026年3月5日"
    assert Formatter("en").date("2026-03-05") == "5 March 2026"
    # Times are shown in China Standard Time, whatever the API's zone.
    assert "20:30" in Formatter("en").datetime("2026-03-05T12:30:00Z")


def test_enumerations_are_translated() -> None:
    assert Formatter("zh").gettext("exclusive_licence") == "独占许可"
    assert Formatter("en").gettext("exclusive_licence") == "Exclusive licence"


@pytest.mark.parametrize(("code", "zh", "en"), [
    ("210200", "大连市", "Dalian, Liaoning"),
    ("210000", "辽宁省", "Liaoning"),
    ("110105", "北京市", "Beijing"),
    ("990000", "990000", "990000"),
])
def test_region_names_by_locale(code: str, zh: str, en: str) -> None:
    assert region_name(code, "zh") == zh
    assert region_name(code, "en") == en


@pytest.mark.parametrize(("typed", "fen"), [
    ("12000", 1_200_000), ("12,000.50", 1_200_050), ("\uffe512\uff0c000", 1_200_000), ("", None), ("abc", None),
    ("-5", None), ("1.005", None),
])
def test_yuan_typed_into_a_form_becomes_fen(typed: str, fen: int | None) -> None:
    assert yuan_to_fen(typed) == fen


def test_problem_errors_are_filed_under_the_field_their_pointer_names_in_the_users_language() -> None:
    assert field_of("#/deal_types/0") == "deal_types"
    assert field_of("#") == ""
    problem = ApiProblem(422, {"title": "Validation failed", "detail": "2 errors", "errors": [
        {"pointer": "#/title", "code": "missing", "detail": "Field required"},
        {"pointer": "#/application_number", "code": "string_pattern_mismatch", "detail": "String should match"},
    ]})
    assert field_errors(problem, Formatter("zh")) == {"title": "此项为必填项。", "application_number": "格式不正确。"}
    assert field_errors(problem, Formatter("en"))["title"] == "This field is required."
    whole = ApiProblem(409, {"title": "Conflict", "detail": "The listing changed meanwhile."})
    assert field_errors(whole, Formatter("en")) == {"": "Conflict: The listing changed meanwhile."}
    assert field_errors(whole, Formatter("zh")) == {"": "操作冲突"}


def test_a_message_may_mean_different_things_by_what_it_is_about() -> None:
    zh = Formatter("zh")
    assert zh.gettext("rejected") != zh.pgettext("release", "rejected")  # a claim refused; a release sent back
    assert zh.gettext("Register") != zh.pgettext("event", "Register")  # an officer's act; a visitor's sign-up
    assert zh.pgettext("release", "draft") == zh.gettext("draft")  # no contextual translation: the general one


def test_amounts_are_written_as_babel_writes_them() -> None:
    """The fast layout of amounts (read once from Babel) gives Babel's own text, in both languages."""
    amounts = [0, 1, 9, 10, 99, 100, 1_000_00, 1_234_567_89, 10 ** 14] + [7 ** n for n in range(1, 17)]
    for language in ("zh", "en"):
        assert yuan_layout(language) is not None
        fmt = Formatter(language)
        assert [fmt.yuan(f) for f in amounts] == [format_currency(Decimal(f) / 100, "CNY", locale=fmt.locale)
                                                  for f in amounts]
