"""A licence's scope: field of use x territory x term, and when two scopes overlap. Pure, no I/O.

- Field of use: IPC symbols at any level (section `H`, class `H01`, subclass `H01M`, main group
  `H01M 10/00`, subgroup `H01M 10/0525`), or `*` for every field. A symbol contains every symbol
  below it in the hierarchy; two fields overlap when one contains the other. Within one main group a
  subgroup whose digits extend another's (`4/13` and `4/133`) overlaps it too: the dot levels that
  would tell a child from a sibling are not in our data, so exclusivity errs toward refusing.
- Territory: GB/T 2260 region codes or `CN` (all of China). `CN` contains every province; a province
  (`210000`) contains its cities (`2102xx`) and counties; a city (`210200`) contains its counties
  (`210202`). Two territories overlap when one contains the other (the codes form a tree).
- Term: a first and a last day, both inclusive; two terms overlap when they share a day.

A scope is a set of fields x a set of territories x one term; two scopes overlap when some field,
some territory and some day are in both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

ALL_FIELDS = "*"
ALL_CHINA = "CN"

_IPC = re.compile(r"^(?P<section>[A-H])(?:(?P<cls>\d{2})(?:(?P<subclass>[A-Z])"
                  r"(?:\s*(?P<group>\d{1,4})\s*/\s*(?P<subgroup>\d{2,6}))?)?)?$")
_REGION = re.compile(r"^\d{6}$")
# For the OpenAPI: the spellings parse() accepts in canonical form (it also takes lower case and spaces).
FIELD_OF_USE_PATTERN = r"^(?:\*|[A-H](?:[0-9]{2}(?:[A-Z](?: ?[0-9]{1,4} ?/ ?[0-9]{2,6})?)?)?)$"
# A province code's two digits (GB/T 2260), then four more; the code list itself is checked on input.
TERRITORY_PATTERN = r"^(?:CN|(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[12])[0-9]{4})$"


class ScopeError(ValueError):
    """A field of use, territory or term that cannot be understood; the message says why."""


@dataclass(frozen=True, order=True)
class FieldOfUse:
    """One IPC symbol as its path in the hierarchy (empty path = every field)."""

    path: tuple[str, ...]
    symbol: str = field(default=ALL_FIELDS, compare=False)

    @classmethod
    def parse(cls, text: str) -> FieldOfUse:
        symbol = " ".join(text.strip().upper().split())
        if symbol == ALL_FIELDS:
            return cls((), ALL_FIELDS)
        match = _IPC.match(symbol)
        if match is None:
            raise ScopeError(f"{text!r} is not an IPC symbol such as H01M, H01M 10/00 or H01M 10/0525, nor '*'")
        parts = [match["section"], match["cls"], match["subclass"]]
        path = tuple(p for p in parts if p)
        if match["group"]:
            group = str(int(match["group"]))
            path += (group,)
            # "10/00" names the whole main group; any other subgroup is a part of it.
            if int(match["subgroup"]) != 0:
                path += (match["subgroup"],)
        return cls(path, symbol)

    def contains(self, other: FieldOfUse) -> bool:
        return other.path[: len(self.path)] == self.path

    def overlaps(self, other: FieldOfUse) -> bool:
        return self.contains(other) or other.contains(self) or self._nested_subgroups(other)

    def _nested_subgroups(self, other: FieldOfUse) -> bool:
        """Two subgroups of one main group where one's digits extend the other's (`4/13`, `4/133`).

        Below the main group the IPC's hierarchy is given by the scheme's dot levels (H01M 4/133 is a
        one-dot child of 4/13, but 4/139 could be a sibling of 4/13 at the same level), and the dot
        levels are not in the data we have. The digits alone cannot tell child from sibling, so for
        exclusivity we err toward refusing: treating a possible child as overlapping can only refuse
        a licence that could have coexisted (the parties can narrow the field or ask), while treating
        a real child as separate would let two exclusive licences cover the same technology.
        Subgroups whose digits merely share a start (`4/131` and `4/133`) stay separate: neither can
        be the other's parent by its digits."""
        if len(self.path) != 5 or len(other.path) != 5 or self.path[:4] != other.path[:4]:
            return False
        mine, theirs = self.path[4], other.path[4]
        return mine.startswith(theirs) or theirs.startswith(mine)

    def __str__(self) -> str:
        return self.symbol


@dataclass(frozen=True, order=True)
class Territory:
    """`CN`, or a GB/T 2260 code at province (xx0000), city (xxxx00) or county level."""

    code: str

    @classmethod
    def parse(cls, text: str) -> Territory:
        code = text.strip().upper()
        if code == ALL_CHINA:
            return cls(code)
        if not _REGION.match(code) or code[:2] == "00":
            raise ScopeError(f"{text!r} is not a GB/T 2260 region code (six digits, e.g. 210200) nor 'CN'")
        return cls(code)

    @property
    def _prefix(self) -> str:
        """The digits every region inside this one starts with."""
        if self.code == ALL_CHINA:
            return ""
        if self.code.endswith("0000"):
            return self.code[:2]
        if self.code.endswith("00"):
            return self.code[:4]
        return self.code

    def contains(self, other: Territory) -> bool:
        if self.code == ALL_CHINA:
            return True
        return other.code != ALL_CHINA and other.code.startswith(self._prefix)

    def overlaps(self, other: Territory) -> bool:
        return self.contains(other) or other.contains(self)


@dataclass(frozen=True)
class Term:
    first_day: date
    last_day: date

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise ScopeError(f"the term ends ({self.last_day}) before it starts ({self.first_day})")

    def overlaps(self, other: Term) -> bool:
        return self.first_day <= other.last_day and other.first_day <= self.last_day


@dataclass(frozen=True)
class Scope:
    fields: frozenset[FieldOfUse]
    territories: frozenset[Territory]
    term: Term

    def __post_init__(self) -> None:
        if not self.fields:
            raise ScopeError("a scope needs at least one field of use ('*' for every field)")
        if not self.territories:
            raise ScopeError("a scope needs at least one territory ('CN' for all of China)")

    @classmethod
    def of(cls, fields: list[str] | tuple[str, ...], territories: list[str] | tuple[str, ...],
           first_day: date, last_day: date) -> Scope:
        return cls(frozenset(FieldOfUse.parse(f) for f in fields),
                   frozenset(Territory.parse(t) for t in territories), Term(first_day, last_day))

    def overlaps(self, other: Scope) -> bool:
        return (self.term.overlaps(other.term)
                and any(a.overlaps(b) for a in self.fields for b in other.fields)
                and any(a.overlaps(b) for a in self.territories for b in other.territories))
