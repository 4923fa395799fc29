"""Licence scope overlap (field x territory x term) and the exclusive/sole/ordinary/open conflict matrix."""

from __future__ import annotations

from datetime import date

import pytest
from trading.licences.domain import (
    GrantedLicence,
    LicenceType,
    RecordalStatus,
    add_months,
    conflicts_with,
    effective_recordal_status,
    first_conflict,
    next_recordal_status,
    recordal_deadline,
)
from trading.licences.scope import FieldOfUse, Scope, ScopeError, Term, Territory

EX, SOLE, ORD = LicenceType.EXCLUSIVE, LicenceType.SOLE, LicenceType.ORDINARY


def scope(fields: tuple[str, ...] = ("H01M",), territories: tuple[str, ...] = ("210000",),
          first: date = date(2027, 1, 1), last: date = date(2029, 12, 31)) -> Scope:
    return Scope.of(fields, territories, first, last)


@pytest.mark.parametrize(("outer", "inner"), [
    ("CN", "210000"), ("CN", "210200"), ("CN", "210202"),
    ("210000", "210200"), ("210000", "210202"), ("210200", "210202"), ("210200", "210200"),
])
def test_territory_containment(outer: str, inner: str) -> None:
    a, b = Territory.parse(outer), Territory.parse(inner)
    assert a.contains(b)
    assert a.overlaps(b) and b.overlaps(a)
    if outer != inner:
        assert not b.contains(a)


@pytest.mark.parametrize(("one", "other"), [("210000", "220000"), ("210200", "210100"), ("210202", "210203"),
                                             ("210100", "220100")])
def test_disjoint_territories(one: str, other: str) -> None:
    assert not Territory.parse(one).overlaps(Territory.parse(other))


@pytest.mark.parametrize("bad", ["21000", "2100000", "liaoning", "000000", ""])
def test_bad_territory_is_refused(bad: str) -> None:
    with pytest.raises(ScopeError):
        Territory.parse(bad)


@pytest.mark.parametrize(("outer", "inner"), [
    ("*", "H01M 10/0525"), ("H", "H01M"), ("H01", "H01M 10/0525"), ("H01M", "H01M 10/00"),
    ("H01M 10/00", "H01M 10/0525"), ("h01m  10/0525", "H01M 10/0525"),
])
def test_field_containment(outer: str, inner: str) -> None:
    assert FieldOfUse.parse(outer).contains(FieldOfUse.parse(inner))
    assert FieldOfUse.parse(inner).overlaps(FieldOfUse.parse(outer))


@pytest.mark.parametrize(("one", "other"), [("H01M", "H01L"), ("H01M 10/00", "H01M 4/00"), ("A", "H"),
                                             ("H01M 10/0525", "H01M 10/0526")])
def test_disjoint_fields(one: str, other: str) -> None:
    assert not FieldOfUse.parse(one).overlaps(FieldOfUse.parse(other))


@pytest.mark.parametrize("bad", ["X01M", "H1M", "H01M10", "H01M 10/", "battery"])
def test_bad_field_is_refused(bad: str) -> None:
    with pytest.raises(ScopeError):
        FieldOfUse.parse(bad)


def test_terms_sharing_a_day_overlap_and_adjacent_ones_do_not() -> None:
    base = scope(first=date(2027, 1, 1), last=date(2027, 12, 31))
    assert base.overlaps(scope(first=date(2027, 12, 31), last=date(2028, 12, 31)))
    assert not base.overlaps(scope(first=date(2028, 1, 1), last=date(2028, 12, 31)))
    with pytest.raises(ScopeError):
        scope(first=date(2028, 1, 2), last=date(2028, 1, 1))


def test_scopes_overlap_only_when_field_territory_and_term_all_do() -> None:
    base = scope()
    assert base.overlaps(scope(fields=("H01M 10/0525",), territories=("210200",)))
    assert not base.overlaps(scope(fields=("H01L",)))  # other field
    assert not base.overlaps(scope(territories=("220000",)))  # other province
    assert not base.overlaps(scope(first=date(2030, 1, 1), last=date(2031, 1, 1)))  # later term
    assert base.overlaps(scope(fields=("H01L", "H01M 4/00"), territories=("110000", "210100")))  # one pair enough


# The matrix: rows = the new licence, columns = the existing one, over overlapping scopes.
MATRIX = {
    (EX, EX): True, (EX, SOLE): True, (EX, ORD): True,
    (SOLE, EX): True, (SOLE, SOLE): True, (SOLE, ORD): True,
    (ORD, EX): True, (ORD, SOLE): True, (ORD, ORD): False,
}


@pytest.mark.parametrize(("new", "existing"), list(MATRIX))
def test_conflict_matrix_over_overlapping_scopes(new: LicenceType, existing: LicenceType) -> None:
    granted = [GrantedLicence("LIC-1", existing, scope())]
    conflict = first_conflict(new, scope(territories=("210200",)), granted, patent_has_open_licence=False)
    assert (conflict is not None) is MATRIX[(new, existing)]
    if conflict is not None:
        assert conflict.licence_id == "LIC-1"
        assert "LIC-1" in conflict.reason


@pytest.mark.parametrize(("new", "existing"), list(MATRIX))
def test_disjoint_scopes_never_conflict(new: LicenceType, existing: LicenceType) -> None:
    granted = [GrantedLicence("LIC-1", existing, scope(territories=("220000",)))]
    assert first_conflict(new, scope(), granted, patent_has_open_licence=False) is None


@pytest.mark.parametrize(("new", "refused"), [(EX, True), (SOLE, True), (ORD, False)])
def test_open_licensed_patent_carries_no_exclusive_or_sole_licence(new: LicenceType, refused: bool) -> None:
    conflict = first_conflict(new, scope(), [], patent_has_open_licence=True)
    assert (conflict is not None) is refused
    if conflict is not None:
        assert conflict.licence_id == "open-licence"


def test_the_conflicting_licence_named_is_stable() -> None:
    granted = [GrantedLicence("LIC-B", EX, scope()), GrantedLicence("LIC-A", SOLE, scope())]
    conflict = first_conflict(EX, scope(), granted, patent_has_open_licence=True)
    assert conflict is not None and conflict.licence_id == "LIC-A"


@pytest.mark.parametrize(("signed", "deadline"), [
    (date(2026, 1, 15), date(2026, 4, 15)), (date(2026, 11, 30), date(2027, 2, 28)),
    (date(2027, 11, 30), date(2028, 2, 29)), (date(2026, 10, 31), date(2027, 1, 31)),
])
def test_recordal_deadline_is_three_months_after_signature(signed: date, deadline: date) -> None:
    assert recordal_deadline(signed) == deadline
    assert add_months(signed, 0) == signed


def test_pending_past_the_deadline_is_overdue_but_filed_is_not() -> None:
    deadline = date(2026, 4, 15)
    assert effective_recordal_status(RecordalStatus.PENDING, deadline, date(2026, 4, 15)) is RecordalStatus.PENDING
    assert effective_recordal_status(RecordalStatus.PENDING, deadline, date(2026, 4, 16)) is RecordalStatus.OVERDUE
    assert effective_recordal_status(RecordalStatus.FILED, deadline, date(2027, 1, 1)) is RecordalStatus.FILED


def test_recordal_goes_one_step_at_a_time() -> None:
    assert next_recordal_status(RecordalStatus.PENDING, RecordalStatus.FILED) is RecordalStatus.FILED
    assert next_recordal_status(RecordalStatus.FILED, RecordalStatus.RECORDED) is RecordalStatus.RECORDED
    for stored, wanted in [(RecordalStatus.PENDING, RecordalStatus.RECORDED),
                           (RecordalStatus.RECORDED, RecordalStatus.FILED),
                           (RecordalStatus.FILED, RecordalStatus.FILED)]:
        with pytest.raises(ValueError, match="pending -> filed -> recorded"):
            next_recordal_status(stored, wanted)


@pytest.mark.parametrize(("one", "other"), [("H01M 4/13", "H01M 4/133"), ("H01M 10/05", "H01M 10/0525"),
                                             ("H01M 4/133", "H01M 4/13")])
def test_a_subgroup_extending_anothers_digits_overlaps_it(one: str, other: str) -> None:
    """The IPC's dot levels are not in our data: 4/133 may be a child of 4/13, so exclusivity refuses."""
    assert FieldOfUse.parse(one).overlaps(FieldOfUse.parse(other))
    term = Term(date(2027, 1, 1), date(2027, 12, 31))
    inner = Scope.of([other], ["CN"], term.first_day, term.last_day)
    outer = GrantedLicence("LIC-outer", LicenceType.EXCLUSIVE, Scope.of([one], ["CN"], term.first_day, term.last_day))
    assert conflicts_with(LicenceType.EXCLUSIVE, inner, outer) is not None


@pytest.mark.parametrize(("one", "other"), [("H01M 4/131", "H01M 4/133"), ("H01M 4/13", "H01M 5/133")])
def test_subgroups_that_only_share_a_start_stay_apart(one: str, other: str) -> None:
    assert not FieldOfUse.parse(one).overlaps(FieldOfUse.parse(other))
