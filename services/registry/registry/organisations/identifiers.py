"""Chinese identifiers organisations carry: the Unified Social Credit Code and GB/T 2260 region codes.

Pure functions, no I/O.
"""

from __future__ import annotations

# GB 32100-2015: 31 characters, leaving out I, O, Z, S and V, which are easy to misread.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB/T 2260 province-level codes (first two digits).
PROVINCES = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
    "21": "Liaoning", "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu",
    "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong", "41": "Henan",
    "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi", "46": "Hainan", "50": "Chongqing",
    "51": "Sichuan", "52": "Guizhou", "53": "Yunnan", "54": "Tibet", "61": "Shaanxi", "62": "Gansu",
    "63": "Qinghai", "64": "Ningxia", "65": "Xinjiang", "71": "Taiwan", "81": "Hong Kong", "82": "Macao",
}

# The province the office serves: its prefecture-level cities, for reporting by city.
LIAONING_CITIES = {
    "210100": "Shenyang", "210200": "Dalian", "210300": "Anshan", "210400": "Fushun", "210500": "Benxi",
    "210600": "Dandong", "210700": "Jinzhou", "210800": "Yingkou", "210900": "Fuxin", "211000": "Liaoyang",
    "211100": "Panjin", "211200": "Tieling", "211300": "Chaoyang", "211400": "Huludao",
}


# For the OpenAPI, the shapes the validators below check (the check character's value is beyond a
# pattern). A region: a province code, or in Liaoning the province itself or one of its 14 cities.
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
REGION_PATTERN = (r"^(?:(?:1[1-5]|2[23]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[12])[0-9]{4}"
                  r"|21(?:00|0[1-9]|1[0-4])[0-9]{2})$")


class IdentifierError(ValueError):
    """Raised with a message a user can act on."""


def uscc_check_character(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Return the code (upper-cased) if it is a well-formed USCC with a correct check character."""
    code = code.strip().upper()
    if len(code) != 18:
        raise IdentifierError(f"a Unified Social Credit Code has 18 characters, this has {len(code)}")
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        raise IdentifierError(f"characters not allowed in a Unified Social Credit Code: {''.join(bad)}")
    if not code[2:8].isdigit():
        raise IdentifierError("characters 3-8 must be the registering region's GB/T 2260 code")
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise IdentifierError(f"check character is {code[17]!r} but should be {expected!r}")
    return code


def validate_region(code: str) -> str:
    """A six-digit GB/T 2260 code whose province exists (e.g. 210000 Liaoning, 210200 Dalian)."""
    if len(code) != 6 or not code.isdigit():
        raise IdentifierError("a GB/T 2260 region code is six digits, e.g. 210100 for Shenyang")
    if code[:2] not in PROVINCES:
        raise IdentifierError(f"{code[:2]} is not a GB/T 2260 province code")
    if code[:2] == "21" and code[2:4] != "00" and code[:4] + "00" not in LIAONING_CITIES:
        raise IdentifierError(f"{code[:4]}00 is not a city of Liaoning")
    return code


def city_of(region_code: str) -> str:
    """The prefecture-level code a region belongs to (province code for province-level entries)."""
    return region_code[:4] + "00"
