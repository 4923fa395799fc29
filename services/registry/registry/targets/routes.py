"""Plan-target progress and talent pools: public aggregate figures (no personal data)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel
from servicekit.http import id_after, next_page
from servicekit.problems import ProblemError
from servicekit.routing import Context, Pagination

from registry.organisations.identifiers import LIAONING_CITIES
from registry.talents import store as talent_store
from registry.talents.domain import TalentStatus
from registry.talents.models import TalentPublic, public_view
from registry.targets.domain import PROVINCE_CODE, PoolSummary
from registry.targets.refresh import current_tally

router = APIRouter(prefix="/v1", tags=["targets and pools"])


class TargetRead(BaseModel):
    name: str
    description: str
    goal: int
    achieved: int
    progress: float
    by_city: dict[str, int]


class TargetsRead(BaseModel):
    targets: list[TargetRead]
    active_talents_by_category: dict[str, int]
    active_talents_by_level: dict[str, int]
    active_talents_by_city: dict[str, int]
    computed_at: datetime


class PoolRead(BaseModel):
    code: str
    name: str
    talents: int
    by_category: dict[str, int]
    by_level: dict[str, int]


class PoolsRead(BaseModel):
    province: PoolRead
    cities: list[PoolRead]


class PoolTalentsPage(BaseModel):
    items: list[TalentPublic]
    next_cursor: str | None


def _pool(p: PoolSummary) -> PoolRead:
    return PoolRead(code=p.code, name=p.name, talents=p.talents, by_category=p.by_category, by_level=p.by_level)


@router.get("/targets", response_model=TargetsRead)
async def plan_targets(ctx: Context) -> TargetsRead:
    """Live progress against the programme's talent targets, by city (who counts: see the README)."""
    result = await current_tally(ctx)
    by_category: Counter[str] = Counter()
    by_level: Counter[str] = Counter()
    by_city: Counter[str] = Counter()
    for (category, level, city), count in result.talents.items():
        by_category[category] += count
        by_level[level] += count
        by_city[city] += count
    return TargetsRead(
        targets=[TargetRead(name=t.name, description=t.description, goal=t.goal, achieved=t.achieved,
                            progress=round(t.ratio, 4), by_city=t.by_city) for t in result.targets],
        # by level and city a talent with several categories counts once per category
        active_talents_by_category=dict(by_category), active_talents_by_level=dict(by_level),
        active_talents_by_city=dict(by_city), computed_at=datetime.now(UTC),
    )


@router.get("/pools", response_model=PoolsRead)
async def talent_pools(ctx: Context) -> PoolsRead:
    """The provincial pool and each city's pool: active talents by category and level."""
    result = await current_tally(ctx)
    return PoolsRead(province=_pool(result.province), cities=[_pool(c) for c in result.cities])


@router.get("/pools/{pool_code}/talents", response_model=PoolTalentsPage)
async def pool_talents(
    pool_code: str, ctx: Context, page: Pagination,
) -> PoolTalentsPage:
    """Public views of the active talents of a pool (210000 for the province, or a city's code)."""
    if pool_code != PROVINCE_CODE and pool_code not in LIAONING_CITIES:
        raise ProblemError(404, "Not found", f"There is no talent pool {pool_code}; pools are 210000 (Liaoning) "
                           "and its cities' codes.", kind="not-found")
    filters: dict[str, object] = {"status": TalentStatus.ACTIVE.value}
    if pool_code == PROVINCE_CODE:
        filters["region_code"] = {"$regex": "^21"}
    else:
        filters["city_code"] = pool_code
    after = id_after(page.cursor)
    docs = await talent_store.page(ctx.db[talent_store.COLLECTION], filters, after, page.limit + 1)
    docs, next_cursor = next_page(docs, page.limit)
    return PoolTalentsPage(items=[public_view(d) for d in docs], next_cursor=next_cursor)
