"""Who may change a training base's curriculum."""

from __future__ import annotations

import pytest
from servicekit.auth import Principal, Role
from servicekit.problems import ProblemError
from training.bases import base_of_new_course, manages_base, validate_credit_code

BASE = "91210100MA0QTEXT09"


def principal(*roles: Role, org: str | None = None) -> Principal:
    return Principal(subject="someone", roles=frozenset(roles), organisation_id=org)


def test_credit_codes_are_checked() -> None:
    assert validate_credit_code(BASE.lower()) == BASE
    with pytest.raises(ValueError, match="check character"):
        validate_credit_code(BASE[:-1] + "8")
    with pytest.raises(ValueError, match="18 characters"):
        validate_credit_code("91210100")


def test_coordinators_manage_only_their_own_base() -> None:
    assert manages_base(principal(Role.COORDINATOR, org=BASE), BASE)
    assert not manages_base(principal(Role.COORDINATOR, org="other"), BASE)
    assert not manages_base(principal(Role.COORDINATOR), BASE)
    assert not manages_base(principal(Role.PARTICIPANT, org=BASE), BASE)
    assert manages_base(principal(Role.OFFICER), BASE)
    assert manages_base(principal(Role.ADMIN), BASE)


def test_base_of_a_new_course() -> None:
    assert base_of_new_course(principal(Role.COORDINATOR, org=BASE), None) == BASE
    assert base_of_new_course(principal(Role.OFFICER), BASE) == BASE
    with pytest.raises(ProblemError) as other:
        base_of_new_course(principal(Role.COORDINATOR, org=BASE), "91210100MA0QTEXT18")
    assert other.value.status == 403
    with pytest.raises(ProblemError) as unnamed:
        base_of_new_course(principal(Role.OFFICER), None)
    assert unnamed.value.status == 422
