"""Resident identity numbers (GB 11643): validation and the keyed hash."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from registry.organisations.identifiers import IdentifierError
from registry.talents.identity import identity_check_character, identity_hash, normalise_identity_number
from registry.talents.models import TalentCreate

# The standard's own worked examples.
PUBLISHED = ("11010519491231002X", "440524188001010014")


@pytest.mark.parametrize("number", PUBLISHED)
def test_published_examples_are_valid(number: str) -> None:
    assert normalise_identity_number(number) == number
    assert identity_check_character(number[:17]) == number[17]


def test_lower_case_x_and_spaces_are_normalised() -> None:
    assert normalise_identity_number(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(("number", "complaint"), [
    ("11010519491231002", "18 characters"),
    ("1101051949123100211", "18 characters"),
    ("11010519491231002Y", "17 digits followed by a digit or X"),
    ("1101051949123A002X", "17 digits followed by a digit or X"),
    ("99010519491231002X", "province"),
    ("110105194913310027", "birth date"),
    ("110105299901010027", "out of range"),
    ("110105194912310021", "check character"),
    ("440524188001010015", "check character"),
])
def test_bad_numbers_are_refused_with_a_reason(number: str, complaint: str) -> None:
    with pytest.raises(IdentifierError, match=complaint):
        normalise_identity_number(number)


def test_messages_never_repeat_the_number() -> None:
    for bad in ("110105194912310021", "11010519491231002Y", "110105194913310027"):
        with pytest.raises(IdentifierError) as caught:
            normalise_identity_number(bad)
        assert bad[:10] not in str(caught.value)


def test_hash_is_keyed_and_stable() -> None:
    one = identity_hash(b"k" * 32, "11010519491231002X")
    assert one == identity_hash(b"k" * 32, "11010519491231002x")  # same person, same hash
    assert one != identity_hash(b"j" * 32, "11010519491231002X")  # another key, another hash
    assert len(one) == 64 and "11010519491231002X" not in one


def test_validation_error_of_the_create_shape_does_not_echo_the_number() -> None:
    body = {"name": "Li Ming", "identity_number": "110105194912310021", "employer_organisation_id":
            "91210100MA0QTEXT09", "region_code": "210100", "categories": ["patent_agency"]}
    with pytest.raises(ValidationError) as caught:
        TalentCreate.model_validate(body)
    assert "110105194912310021" not in str(caught.value)  # what a log line would show
    # What the kit's problem+json handler copies from each error: where, the message and the code.
    shown = [(e["loc"], e["msg"], e["type"]) for e in caught.value.errors()]
    assert shown == [(("identity_number",), "Value error, the check character (the 18th) does not match the "
                                            "other 17", "value_error")]


def test_the_number_is_a_secret_in_the_model() -> None:
    data = TalentCreate.model_validate({"name": "Li Ming", "identity_number": "11010519491231002x",
                                        "employer_organisation_id": "91210100MA0QTEXT09", "region_code": "210100",
                                        "categories": ["patent_agency"]})
    assert "11010519491231002" not in repr(data)
    assert data.identity_number.get_secret_value() == "11010519491231002X"
