"""Field types the trading request models share: patent numbers in every written form, credit codes
with their check character, and free text that is stored as the user meant it.

Free text (titles, names, terms, references...) is NFC-normalised (a Han character or an accented
letter typed two ways is stored one way, so search and duplicate checks see one string) and refuses
control and invisible characters: a name with a NUL, an escape sequence or a bidirectional override
is not a name (it corrupts exports and terminals, or hides what a reader sees). Unassigned and
private-use code points are accepted: a newer Unicode than ours is not an error. Multi-line text keeps its line
breaks and tabs. Surrounding whitespace is stripped by the models (`str_strip_whitespace`), inner
whitespace is kept; the length limits count characters after normalisation.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

from trading.patents.identifiers import (
    APPLICATION_NUMBER_PATTERN,
    USCC_EXAMPLE,
    USCC_PATTERN,
    normalise_application_number,
    validate_uscc,
)

# What free text may not contain, as code point ranges: C0 controls (multi-line text keeps tab, line
# feed and carriage return), DEL and the C1 controls, zero-width characters and directional marks,
# bidirectional embeddings, overrides and isolates, invisible operators, the byte-order mark and lone
# surrogates. One list makes both the validator and the OpenAPI pattern, so they cannot disagree.
_INVISIBLE = ((0x7F, 0x9F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F),
              (0xD800, 0xDFFF), (0xFEFF, 0xFEFF))
_LINE_BREAKS = (0x09, 0x0A, 0x0D)


def _ranges(multi_line: bool) -> tuple[tuple[int, int], ...]:
    c0 = ((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F)) if multi_line else ((0x00, 0x1F),)
    return (*c0, *_INVISIBLE)


def _pattern(multi_line: bool) -> str:
    """The refused ranges as a negated character class of the characters themselves (not `\\uXXXX`
    escapes, which some JSON Schema generators misread). Lone surrogates are left out: they cannot be
    written in UTF-8, so no client sends them in a JSON document's text, and the validator refuses them."""
    spans = "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in _ranges(multi_line)
                    if not 0xD800 <= a <= 0xDFFF)
    return f"^[^{spans}]*$"


SINGLE_LINE_PATTERN = _pattern(False)
MULTI_LINE_PATTERN = _pattern(True)
_REFUSED = {False: _ranges(False), True: _ranges(True)}


def _clean(text: str, *, multi_line: bool) -> str:
    text = unicodedata.normalize("NFC", text)
    for position, char in enumerate(text):
        point = ord(char)
        if any(a <= point <= b for a, b in _REFUSED[multi_line]):
            raise ValueError(f"control or invisible character U+{point:04X} at position {position + 1}; "
                             "text must be printable")
    return text


def clean_line(text: str) -> str:
    return _clean(text, multi_line=False)


def clean_text(text: str) -> str:
    return _clean(text, multi_line=True)


def _application_number(raw: str) -> str:
    return normalise_application_number(raw)


# The patterns are documentation (json_schema_extra), not validation: the validators accept more
# spellings (lower case, spaces, full-width digits) and say precisely what is wrong.
ApplicationNumber = Annotated[str, Field(examples=["202310123456.6"], min_length=1, max_length=40,
                                         json_schema_extra={"pattern": APPLICATION_NUMBER_PATTERN}),
                              AfterValidator(_application_number)]
OrganisationId = Annotated[str, Field(examples=[USCC_EXAMPLE], json_schema_extra={"pattern": USCC_PATTERN}),
                           AfterValidator(validate_uscc)]
Name = Annotated[str, Field(min_length=2, max_length=200, json_schema_extra={"pattern": SINGLE_LINE_PATTERN}),
                 AfterValidator(clean_line)]
Reference = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={"pattern": SINGLE_LINE_PATTERN}),
                      AfterValidator(clean_line)]
