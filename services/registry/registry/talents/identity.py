"""Resident identity numbers (GB 11643-1999): validated, then kept only as a keyed hash.

Pure functions, no I/O. Error messages never repeat the number: they end up in problem+json bodies
and logs.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from registry.organisations.identifiers import PROVINCES, IdentifierError

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARACTERS = "10X98765432"  # indexed by the weighted sum modulo 11
# For the OpenAPI: province, four more address digits, a birth date 1880-2099 (the calendar and "not in
# the future" are beyond a pattern), a sequence and the check character's place.
IDENTITY_NUMBER_PATTERN = (r"^(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[12])[0-9]{4}"
                           r"(?:18[89][0-9]|19[0-9]{2}|20[0-9]{2})(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                           r"[0-9]{3}[0-9X]$")


def identity_check_character(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARACTERS[total % 11]


def normalise_identity_number(number: str) -> str:
    """Return the number (trailing x upper-cased) if it is a well-formed 18-character resident ID:
    6-digit address code of a real province, a real birth date, 3-digit sequence and the check character."""
    number = number.strip().upper()
    if len(number) != 18:
        raise IdentifierError(f"a resident identity number has 18 characters, this has {len(number)}")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdentifierError("a resident identity number is 17 digits followed by a digit or X")
    if number[:2] not in PROVINCES:
        raise IdentifierError("the first two digits are not a GB/T 2260 province code")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentifierError("characters 7-14 are not a valid birth date (YYYYMMDD)") from None
    if born.year < 1880 or born > date.today():
        raise IdentifierError("the birth date in characters 7-14 is out of range")
    if number[17] != identity_check_character(number[:17]):
        raise IdentifierError("the check character (the 18th) does not match the other 17")
    return number


def identity_hash(key: bytes, number: str) -> str:
    """HMAC-SHA256 of the normalised number: equal numbers give equal hashes (duplicates are found),
    and without the key the hash reveals nothing."""
    return hmac.new(key, normalise_identity_number(number).encode(), hashlib.sha256).hexdigest()
