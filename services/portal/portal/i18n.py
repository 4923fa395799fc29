"""Languages, message catalogs and locale formatting.

Chinese is the first language, English the second. Messages are gettext catalogs (Babel's .po files,
committed); they are compiled in memory when the portal starts, so no compiled file is kept in git.
Amounts arrive from the APIs in fen and are shown in yuan; dates and numbers follow the locale.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
# Babel's locale for each language of the portal (Simplified Chinese as used in mainland China).
BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en_GB"}
HTML_LANG = {"zh": "zh-CN", "en": "en"}


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's choice, else the browser's first known language, else Chinese."""
    if cookie in LANGUAGES:
        return str(cookie)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


@cache
def translations(language: str) -> Translations:
    """The catalog of `language`, compiled from its .po file once per process."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


@cache
def babel_locale(language: str) -> Locale:
    """Babel's locale of a portal language, parsed once per process: parsing costs more than formatting an
    amount, and a page of listings formats twenty."""
    return Locale.parse(BABEL_LOCALES[language])


@dataclass(frozen=True)
class YuanLayout:
    """How a locale writes an amount in yuan, read once from Babel's own rendering of a sample: the
    text before and after the digits, the grouping and decimal signs. Babel's format_currency takes
    about as long as the rest of a listing's card; a page formats twenty prices."""

    prefix: str
    group: str
    decimal: str
    suffix: str

    def format(self, fen: int) -> str:
        whole, cents = divmod(fen, 100)
        return f"{self.prefix}{whole:,}".replace(",", self.group) + f"{self.decimal}{cents:02d}{self.suffix}"


SAMPLE_FEN = 123_456_789  # 1,234,567.89: every part of the layout appears in it


@cache
def yuan_layout(language: str) -> YuanLayout | None:
    """The layout of `language`'s amounts, or None when Babel's rendering does not split that way (then
    every amount goes through Babel)."""
    locale = babel_locale(language)
    sample = str(format_currency(Decimal(SAMPLE_FEN) / 100, "CNY", locale=locale))
    start, end = sample.find("1"), sample.rfind("9")
    digits = sample[start:end + 1]
    # "1,234,567.89": the same grouping sign twice, the decimal sign, and the digits in order.
    in_order = digits[0] + digits[2:5] + digits[6:9] + digits[10:] == "123456789"
    if len(digits) != 12 or digits[1] != digits[5] or not in_order:
        return None
    layout = YuanLayout(sample[:start], digits[1], digits[9], sample[end + 1:])
    checks = (0, 5, 99_00, 1_000_00, 12_345_678_901_23)
    if any(layout.format(f) != format_currency(Decimal(f) / 100, "CNY", locale=locale) for f in checks):
        return None
    return layout


@dataclass(frozen=True)
class Formatter:
    """Locale formatting for one request's language."""

    language: str

    @property
    def locale(self) -> Locale:
        return babel_locale(self.language)

    def gettext(self, message: str) -> str:
        return str(translations(self.language).gettext(message))

    def pgettext(self, context: str, message: str) -> str:
        """A message whose translation depends on what it is about: "rejected" is 已驳回 for an
        ownership claim but 已退回 (sent back for changes) for a press release; "Register" is 登记 for
        an officer registering a pledge but 报名 for a visitor signing up to an event. Without a
        translation in that context, the message's general one."""
        found = str(translations(self.language).pgettext(context, message))
        return found if found != message else self.gettext(message)

    def yuan(self, fen: int | None) -> str:
        """An amount in fen, shown in yuan (two decimals, the locale's grouping and currency sign)."""
        if fen is None:
            return self.gettext("Price on request")
        layout = yuan_layout(self.language)
        if layout is not None and fen >= 0:
            return layout.format(fen)
        return str(format_currency(Decimal(fen) / 100, "CNY", locale=self.locale))

    def number(self, value: int | float) -> str:
        return str(format_decimal(value, locale=self.locale))

    def date(self, value: dt.date | str | None) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        return str(format_date(value, format="long", locale=self.locale))

    def datetime(self, value: dt.datetime | str | None) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return str(format_datetime(value, format="medium", tzinfo=get_timezone("Asia/Shanghai"), locale=self.locale))

    def region(self, code: str | None) -> str:
        return region_name(code, self.language)


def yuan_to_fen(text: str) -> int | None:
    """A yuan amount typed into a form ("12,000.50", "12000") in fen; None when empty or not a number."""
    cleaned = text.strip()
    for sign in (",", "\uff0c", "\u00a5", "\uffe5"):  # commas and yuan signs, half and full width
        cleaned = cleaned.replace(sign, "")
    if not cleaned:
        return None
    try:
        amount = Decimal(cleaned)
    except ArithmeticError:
        return None
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        return None
    return int(amount * 100)


# GB/T 2260: the provinces, and Liaoning's cities (the province the platform serves), by language.
PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("北京市", "Beijing"), "12": ("天津市", "Tianjin"), "13": ("河北省", "Hebei"), "14": ("山西省", "Shanxi"),
    "15": ("内蒙古自治区", "Inner Mongolia"), "21": ("辽宁省", "Liaoning"), "22": ("吉林省", "Jilin"),
    "23": ("黑龙江省", "Heilongjiang"), "31": ("上海市", "Shanghai"), "32": ("江苏省", "Jiangsu"),
    "33": ("浙江省", "Zhejiang"), "34": ("安徽省", "Anhui"), "35": ("福建省", "Fujian"), "36": ("江西省", "Jiangxi"),
    "37": ("山东省", "Shandong"), "41": ("河南省", "Henan"), "42": ("湖北省", "Hubei"), "43": ("湖南省", "Hunan"),
    "44": ("广东省", "Guangdong"), "45": ("广西壮族自治区", "Guangxi"), "46": ("海南省", "Hainan"),
    "50": ("重庆市", "Chongqing"), "51": ("四川省", "Sichuan"), "52": ("贵州省", "Guizhou"), "53": ("云南省", "Yunnan"),
    "54": ("西藏自治区", "Tibet"), "61": ("陕西省", "Shaanxi"), "62": ("甘肃省", "Gansu"), "63": ("青海省", "Qinghai"),
    "64": ("宁夏回族自治区", "Ningxia"), "65": ("新疆维吾尔自治区", "Xinjiang"), "71": ("台湾省", "Taiwan"),
    "81": ("香港特别行政区", "Hong Kong"), "82": ("澳门特别行政区", "Macao"),
}
LIAONING_CITIES: dict[str, tuple[str, str]] = {
    "2101": ("沈阳市", "Shenyang"), "2102": ("大连市", "Dalian"), "2103": ("鞍山市", "Anshan"),
    "2104": ("抚顺市", "Fushun"), "2105": ("本溪市", "Benxi"), "2106": ("丹东市", "Dandong"),
    "2107": ("锦州市", "Jinzhou"), "2108": ("营口市", "Yingkou"), "2109": ("阜新市", "Fuxin"),
    "2110": ("辽阳市", "Liaoyang"), "2111": ("盘锦市", "Panjin"), "2112": ("铁岭市", "Tieling"),
    "2113": ("朝阳市", "Chaoyang"), "2114": ("葫芦岛市", "Huludao"),
}


def region_name(code: str | None, language: str) -> str:
    """A region's name: Liaoning's cities by name, other places by province; the code when unknown."""
    if not code:
        return ""
    index = 0 if language == "zh" else 1
    province = PROVINCES.get(code[:2])
    city = LIAONING_CITIES.get(code[:4])
    if city is not None:
        return city[index] if language == "zh" else f"{city[index]}, {province[index] if province else ''}"
    if province is not None:
        return province[index]
    return code


def region_choices(language: str) -> list[tuple[str, str]]:
    """Codes and names for the search's region facet: Liaoning and its cities first, then the provinces."""
    choices = [("210000", region_name("210000", language))]
    choices += [(code + "00", region_name(code + "00", language)) for code in LIAONING_CITIES]
    choices += [(code + "0000", region_name(code + "0000", language)) for code in PROVINCES if code != "21"]
    return choices
