"""GB/T 2260 region codes as trading uses them (pure). Trading keeps its own copy of this small rule
rather than importing the registry: services share contracts, not code."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from trading.patents.identifiers import IdentifierError

# The code list as data, generated from its named source by services/trading/tools/generate_gb2260.py.
CODE_LIST = Path(__file__).with_name("gb2260.tsv")


@cache
def region_names() -> dict[str, str]:
    """Every GB/T 2260 code (province xx0000, city xxxx00, county) with its name."""
    names: dict[str, str] = {}
    for line in CODE_LIST.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, name = line.split("\t", 1)
            names[code] = name
    return names

PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
    "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
})


# GB/T 2260: a province code (the first two digits) and four more, for the OpenAPI.
REGION_PATTERN = r"^(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[12])[0-9]{4}$"


def normalise_region(code: str) -> str:
    code = code.strip()
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise IdentifierError("a GB/T 2260 region code is six digits, e.g. 210200 for Dalian")
    if code[:2] not in PROVINCE_CODES:
        raise IdentifierError(f"{code[:2]} is not a GB/T 2260 province code")
    if code not in region_names():
        raise IdentifierError(f"{code} is not in the GB/T 2260 code list (a province like 210000, a city like "
                              "210200 or a county like 210202)")
    return code


def region_levels(code: str) -> list[str]:
    """Province, city and the code itself (deduplicated): a search for 210000 finds Dalian's 210200."""
    levels = [code[:2] + "0000", code[:4] + "00", code]
    return list(dict.fromkeys(levels))
