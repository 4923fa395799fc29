"""The programme's talent targets and pools: which talents count, and the tallies. Pure, no I/O.

Only active talents count (a suspended, inactive or removed practitioner is not part of the corps).
A talent counts toward a target through a certification it holds, not merely a category it declares:

- high_level_ip_management (goal 100): certified at high_level in enterprise_ip_management;
- ip_service_talents (goal 100): certified, at any level, in ip_services;
- enterprise_ip_engineers (goal 1000): certified, at any level, in enterprise_ip_management, and
  employed by an organisation of kind enterprise (the employer's kind is recorded on the talent).

Pools: the provincial pool is every active talent working in Liaoning (region 21xxxx); a municipal
pool is those whose region lies in one prefecture-level city (GB/T 2260 code xxxx00).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from servicekit import tallies

from registry.organisations.domain import OrganisationKind
from registry.organisations.identifiers import LIAONING_CITIES, city_of
from registry.talents.domain import TalentCategory, TalentLevel, TalentStatus

PROVINCE_CODE = "210000"
UNCERTIFIED = "none"  # the level label of a talent not certified yet

Row = Mapping[str, Any]


def _certified(row: Row, category: TalentCategory, level: TalentLevel | None = None) -> bool:
    return any(c.get("category") == category.value and (level is None or c.get("level") == level.value)
               for c in row.get("certifications") or [])


@dataclass(frozen=True)
class PlanTarget:
    name: str
    goal: int
    description: str
    counts: Callable[[Row], bool]


PLAN_TARGETS: tuple[PlanTarget, ...] = (
    PlanTarget("high_level_ip_management", 100,
               "high-level IP management talents: certified high_level in enterprise_ip_management",
               lambda r: _certified(r, TalentCategory.ENTERPRISE_IP_MANAGEMENT, TalentLevel.HIGH_LEVEL)),
    PlanTarget("ip_service_talents", 100,
               "high-quality IP service talents: certified at any level in ip_services",
               lambda r: _certified(r, TalentCategory.IP_SERVICES)),
    PlanTarget("enterprise_ip_engineers", 1000,
               "enterprise IP engineers: certified in enterprise_ip_management, employed by an enterprise",
               lambda r: (_certified(r, TalentCategory.ENTERPRISE_IP_MANAGEMENT)
                          and r.get("employer_kind") == OrganisationKind.ENTERPRISE.value)),
)


def counts_at_all(row: Row) -> bool:
    return row.get("status") == TalentStatus.ACTIVE.value


def city_label(region_code: str) -> str:
    """The municipal pool a region belongs to, or 'outside' for talents working outside Liaoning."""
    city = city_of(region_code)
    return city if city in LIAONING_CITIES else ("province" if city == PROVINCE_CODE else "outside")


@dataclass(frozen=True)
class TargetProgress:
    name: str
    goal: int
    description: str
    achieved: int
    by_city: dict[str, int]

    @property
    def ratio(self) -> float:
        return self.achieved / self.goal


@dataclass(frozen=True)
class PoolSummary:
    code: str
    name: str
    talents: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Tally:
    """Everything the targets API, the pools API and the gauges show, read from the talent tally."""

    targets: list[TargetProgress]
    # (category, level, city) -> active talents; a talent counts once per declared category.
    talents: dict[tuple[str, str, str], int]
    province: PoolSummary
    cities: list[PoolSummary]


TALLY_ID = "registry-talents"  # the one tally document the targets, pools and gauges read (by _id)


def contribution(row: Row) -> dict[str, dict[str, int]]:
    """What one talent adds to the talent tally (servicekit.tallies), as dotted paths:

    - `talents.<category>.<level>.<city>`: once per declared category;
    - `targets.<target>.<city>`: for each plan target it counts toward;
    - `pools.<code>.talents`, `pools.<code>.by_category.<category>`, `pools.<code>.by_level.<level>`:
      for the provincial pool and its city's pool (nothing for a talent working outside Liaoning).

    A talent that is not active adds nothing. Categories, levels and cities are data, hence `key()`."""
    if not counts_at_all(row):
        return {}
    amounts: Counter[str] = Counter()
    city = tallies.key(city_label(str(row.get("region_code", ""))))
    level = tallies.key(row.get("level") or UNCERTIFIED)
    categories = [tallies.key(c) for c in row.get("categories") or []]
    for category in categories:
        amounts[f"talents.{category}.{level}.{city}"] += 1
    for target in PLAN_TARGETS:
        if target.counts(row):
            amounts[f"targets.{target.name}.{city}"] += 1
    if city != "outside":
        for code in (PROVINCE_CODE, city) if city != "province" else (PROVINCE_CODE,):
            amounts[f"pools.{code}.talents"] += 1
            for category in categories:
                amounts[f"pools.{code}.by_category.{category}"] += 1
            amounts[f"pools.{code}.by_level.{level}"] += 1
    return {TALLY_ID: dict(amounts)}


def summary(tally: Mapping[str, Any]) -> Tally:
    """The targets, pools and gauges from the tally document (as `tallies.read` returns it: nested by
    the paths of `contribution`). Amounts that went back to 0 are left out, like label sets that no
    talent fills any more."""
    talents: dict[tuple[str, str, str], int] = {}
    for category, by_level in _children(tally.get("talents")).items():
        for level, by_city in _children(by_level).items():
            for city, count in _children(by_city).items():
                if isinstance(count, int | float) and int(count) != 0:
                    talents[(category, level, city)] = int(count)
    pools = _children(tally.get("pools"))

    def pool(code: str, name: str) -> PoolSummary:
        found = _children(pools.get(code))
        return PoolSummary(code, name, _amount(found.get("talents")), _amounts(found.get("by_category")),
                           _amounts(found.get("by_level")))

    targets = _children(tally.get("targets"))
    progress = []
    for t in PLAN_TARGETS:
        by_city = _amounts(targets.get(t.name))
        progress.append(TargetProgress(t.name, t.goal, t.description, sum(by_city.values()), by_city))
    return Tally(
        targets=progress,
        talents=talents,
        province=pool(PROVINCE_CODE, "Liaoning"),
        cities=[pool(code, name) for code, name in sorted(LIAONING_CITIES.items())],
    )


def tally(rows: Iterable[Row]) -> Tally:
    """The summary of these talents, as the tally document would hold it (for tests and checks)."""
    flat: Counter[str] = Counter()
    for row in rows:
        for amounts in contribution(row).values():
            flat.update(amounts)
    nested: dict[str, Any] = {}
    for path, count in flat.items():
        node = nested
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = count
    return summary(nested)


def _children(node: Any) -> dict[str, Any]:
    return {str(k): v for k, v in node.items()} if isinstance(node, Mapping) else {}


def _amount(node: Any) -> int:
    return int(node) if isinstance(node, int | float) else 0


def _amounts(node: Any) -> dict[str, int]:
    return {k: int(v) for k, v in _children(node).items() if isinstance(v, int | float) and int(v) != 0}
