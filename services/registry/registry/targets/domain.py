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
    """Everything the targets API, the pools API and the gauges show, from one pass over the talents."""

    targets: list[TargetProgress]
    # (category, level, city) -> active talents; a talent counts once per declared category.
    talents: dict[tuple[str, str, str], int]
    province: PoolSummary
    cities: list[PoolSummary]


def tally(rows: Iterable[Row]) -> Tally:
    achieved: Counter[str] = Counter()
    target_cities: dict[str, Counter[str]] = {t.name: Counter() for t in PLAN_TARGETS}
    talents: Counter[tuple[str, str, str]] = Counter()
    pool_size: Counter[str] = Counter()
    pool_categories: dict[str, Counter[str]] = {}
    pool_levels: dict[str, Counter[str]] = {}
    for row in rows:
        if not counts_at_all(row):
            continue
        city = city_label(str(row.get("region_code", "")))
        level = row.get("level") or UNCERTIFIED
        categories = [str(c) for c in row.get("categories") or []]
        for category in categories:
            talents[(category, level, city)] += 1
        for target in PLAN_TARGETS:
            if target.counts(row):
                achieved[target.name] += 1
                target_cities[target.name][city] += 1
        if city == "outside":
            continue
        for code in (PROVINCE_CODE, city) if city != "province" else (PROVINCE_CODE,):
            pool_size[code] += 1
            pool_categories.setdefault(code, Counter()).update(categories)
            pool_levels.setdefault(code, Counter())[level] += 1

    def pool(code: str, name: str) -> PoolSummary:
        return PoolSummary(code, name, pool_size[code], dict(pool_categories.get(code, {})),
                           dict(pool_levels.get(code, {})))

    return Tally(
        targets=[TargetProgress(t.name, t.goal, t.description, achieved[t.name], dict(target_cities[t.name]))
                 for t in PLAN_TARGETS],
        talents=dict(talents),
        province=pool(PROVINCE_CODE, "Liaoning"),
        cities=[pool(code, name) for code, name in sorted(LIAONING_CITIES.items())],
    )
