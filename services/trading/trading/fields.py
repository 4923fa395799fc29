"""Field types the trading request models share: patent numbers in every written form, credit codes
with their check character, and free text that is stored as the user meant it.

Free text (titles, names, terms, references...) is NFC-normalised (a Han character or an accented
letter typed two ways is stored one way, so search and duplicate checks see one string) and refuses
control characters: a name with a NUL, an escape sequence or a bidirectional override is not a name
(it corrupts exports and terminals, or hides what a reader sees). Multi-line text keeps its line
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

# Control (Cc), format (Cf: bidirectional overrides, zero-width characters), unassigned (Cn), private
# use (Co) and surrogates (Cs) are refused; multi-line text may carry these three.
_LINE_BREAKS = frozenset("\n\r\t")
# For the OpenAPI: no C0/C1 controls, bidirectional overrides or zero-width characters.
SINGLE_LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]*$"
MULTI_LINE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]*$"


def _clean(text: str, *, multi_line: bool) -> str:
    text = unicodedata.normalize("NFC", text)
    for position, char in enumerate(text):
        if multi_line and char in _LINE_BREAKS:
            continue
        if unicodedata.category(char)[0] == "C":
            raise ValueError(f"control or invisible character U+{ord(char):04X} at position {position + 1}; "
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
