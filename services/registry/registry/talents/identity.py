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
