"""Chinese patent identifiers and technology classifications. Pure functions, no I/O.

Application numbers (ZC 0006-2003, in use since 1 October 2003): `YYYY` filing year, one type digit
(1 invention, 2 utility model, 3 design, 8 PCT invention entering the national phase, 9 PCT utility
model), a 7-digit serial, then `.` and a check character. The check character is the sum of the 12
digits weighted 2,3,4,5,6,7,8,9,2,3,4,5, modulo 11, written `X` when it is 10. The granted patent
number is `ZL` + the application number. The older 8-digit numbers are not accepted: every patent
filed before 2003 has expired (20 years at most), so none can be traded.

We normalise to the 13 characters without the dot (`2023101234566`), the form other modules and the
deals code use as a key.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class PatentKind(StrEnum):
    INVENTION = "invention"
    UTILITY_MODEL = "utility_model"
    DESIGN = "design"


class IdentifierError(ValueError):
    """Raised with a message a user can act on."""


APPLICATION_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
KIND_OF_TYPE_DIGIT = {
    "1": PatentKind.INVENTION, "8": PatentKind.INVENTION,
    "2": PatentKind.UTILITY_MODEL, "9": PatentKind.UTILITY_MODEL,
    "3": PatentKind.DESIGN,
}
FIRST_YEAR = 2003

_APPLICATION = re.compile(r"^(?:ZL|CN)?(\d{12})\.?([0-9X])$")
# The numbers used before 1 October 2003: 2-digit year, type digit, 5-digit serial, check character.
_OLD_APPLICATION = re.compile(r"^(?:ZL|CN)?(\d{2})[1-3]\d{5}\.?[0-9X]$")
# The canonical spelling, for the OpenAPI: a year from 2003, a known type digit, the check character's
# place (its value is beyond JSON Schema). Lower case, spaces and full-width digits are accepted too.
APPLICATION_NUMBER_PATTERN = r"^(?:ZL|CN)?(?:200[3-9]|20[1-9][0-9])[12389][0-9]{7}\.?[0-9X]$"


def application_check_character(first12: str) -> str:
    total = sum(int(d) * w for d, w in zip(first12, APPLICATION_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalise_application_number(raw: str) -> str:
    """Return the 13-character form (12 digits + check character) of an application or patent number.

    Accepts `202310123456.6`, `ZL202310123456.6`, `CN 2023 1 0123456.6`, full-width digits and
    spaces; refuses a wrong check character, an unknown type digit or an impossible year.
    """
    text = unicodedata.normalize("NFKC", raw).upper().replace(" ", "").replace("\u3000", "")
    match = _APPLICATION.match(text)
    old = _OLD_APPLICATION.match(text)
    if match is None and old is not None:
        raise IdentifierError(
            f"{raw.strip()} is an 8-digit number of the kind used before October 2003; it is refused because "
            "every patent filed then has reached the end of its term (20 years at most from filing), so "
            "nothing is left to trade")
    if match is None:
        raise IdentifierError(
            "an application number looks like 202310123456.6 (year, type digit, 7-digit serial, check "
            "character), optionally prefixed ZL")
    digits, check = match.groups()
    year = int(digits[:4])
    if year < FIRST_YEAR:
        raise IdentifierError(f"{year} is before 2003; only 12-digit (ZC 0006-2003) numbers are accepted")
    if digits[4] not in KIND_OF_TYPE_DIGIT:
        raise IdentifierError(f"type digit {digits[4]} is not one of 1, 2, 3, 8, 9")
    expected = application_check_character(digits)
    if check != expected:
        raise IdentifierError(f"check character is {check!r} but should be {expected!r}")
    return digits + check


def kind_of_application(normalised: str) -> PatentKind:
    return KIND_OF_TYPE_DIGIT[normalised[4]]


def filing_year(normalised: str) -> int:
    return int(normalised[:4])


def display_application_number(normalised: str) -> str:
    return f"{normalised[:12]}.{normalised[12]}"


# --- Unified Social Credit Code (GB 32100-2015) ----------------------------------------------------
# Trading keeps its own copy of this small rule (services share contracts, not code).

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V (easy to misread)
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
USCC_EXAMPLE = "91210200MA0QTEXT0E"  # a Dalian code whose check character is right


def uscc_check_character(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """The code upper-cased if it is a well-formed Unified Social Credit Code with the right check character."""
    code = unicodedata.normalize("NFKC", code).strip().upper()
    if len(code) != 18:
        raise IdentifierError(f"a Unified Social Credit Code has 18 characters, this has {len(code)}")
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        raise IdentifierError(f"characters not allowed in a Unified Social Credit Code: {''.join(bad)}")
    if not code[2:8].isdigit():
        raise IdentifierError("characters 3-8 of a Unified Social Credit Code are a GB/T 2260 region code")
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise IdentifierError(f"check character is {code[17]!r} but should be {expected!r}")
    return code


# --- IPC ------------------------------------------------------------------------------------------
# International Patent Classification: section A-H, 2-digit class, subclass letter, then optionally
# main group (1-4 digits) / subgroup (2-6 digits), e.g. "H01M 10/0525".

_IPC = re.compile(r"^([A-H])(\d{2})([A-Z])(?:(\d{1,4})/(\d{2,6}))?$")
IPC_PATTERN = r"^[A-H][0-9]{2}[A-Z](?: ?[0-9]{1,4}/[0-9]{2,6})?$"


def normalise_ipc(raw: str) -> str:
    """Canonical form `H01M 10/0525` (or `H01M` for a subclass alone)."""
    text = unicodedata.normalize("NFKC", raw).upper().replace(" ", "")
    match = _IPC.match(text)
    if match is None:
        raise IdentifierError(f"{raw!r} is not an IPC code like H01M 10/0525 (or a subclass like H01M)")
    section, klass, subclass, group, subgroup = match.groups()
    head = f"{section}{klass}{subclass}"
    if group is None:
        return head
    return f"{head} {int(group)}/{subgroup}"


def ipc_levels(code: str) -> list[str]:
    """The code at every level, broadest first: H, H01, H01M, H01M10, H01M10/0525 (no spaces)."""
    compact = code.replace(" ", "")
    levels = [compact[:1], compact[:3], compact[:4]]
    if "/" in compact:
        levels.append(compact.split("/", 1)[0])
        levels.append(compact)
    return levels


_IPC_PREFIX = re.compile(r"^([A-H])(?:(\d{2})(?:([A-Z])(?:(\d{1,4})(?:/(\d{2,6}))?)?)?)?$")
IPC_PREFIX_PATTERN = r"^[A-H](?:[0-9]{2}(?:[A-Z](?: ?[0-9]{1,4}(?:/[0-9]{2,6})?)?)?)?$"


def normalise_ipc_prefix(raw: str) -> str:
    """A search prefix at one of the IPC levels: `H`, `H01`, `H01M`, `H01M10`, `H01M10/0525` (compact)."""
    text = unicodedata.normalize("NFKC", raw).upper().replace(" ", "")
    match = _IPC_PREFIX.match(text)
    if match is None:
        raise IdentifierError(
            f"{raw!r} is not an IPC prefix: give a section (H), class (H01), subclass (H01M), main group "
            "(H01M 10) or full code (H01M 10/0525)")
    section, klass, subclass, group, subgroup = match.groups()
    out = section + (klass or "") + (subclass or "")
    if group is not None:
        out += str(int(group))
        if subgroup is not None:
            out += "/" + subgroup
    return out


# --- Locarno (industrial designs) -----------------------------------------------------------------

_LOCARNO = re.compile(r"^(\d{2})-(\d{2})$")
LOCARNO_PATTERN = r"^(?:0[1-9]|[12][0-9]|3[0-2])-[0-9]{2}$"


def normalise_locarno(raw: str) -> str:
    """A Locarno class-subclass like `12-16`; classes run 01-32."""
    text = unicodedata.normalize("NFKC", raw).strip()
    match = _LOCARNO.match(text)
    if match is None or not 1 <= int(match.group(1)) <= 32:
        raise IdentifierError(f"{raw!r} is not a Locarno class like 12-16 (class 01-32, subclass)")
    return text
