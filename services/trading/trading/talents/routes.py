"""Read access to trading's talent projection (public: the same snapshot the registry publishes)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from servicekit.problems import ProblemError
from servicekit.routing import Context

from trading.talents.projection import agent_refusal, get

router = APIRouter(prefix="/v1/talents", tags=["talents"])


class ProjectedTalent(BaseModel):
    id: str
    registration_number: str
    name: str
    employer_organisation_id: str
    region_code: str
    categories: list[str]
    level: str | None
    status: str
    version: int
    may_act_as_agent: bool


@router.get("/{talent_id}", response_model=ProjectedTalent)
async def get_projected_talent(talent_id: str,
                               ctx: Context) -> ProjectedTalent:
    doc = await get(ctx.db, talent_id)
    if doc is None:
        raise ProblemError(404, "Not found", f"Trading knows no talent {talent_id}.", kind="not-found")
    return ProjectedTalent(id=doc["_id"], registration_number=doc["registration_number"], name=doc["name"],
                           employer_organisation_id=doc["employer_organisation_id"], region_code=doc["region_code"],
                           categories=doc["categories"], level=doc.get("level"), status=doc["status"],
                           version=doc["version"], may_act_as_agent=agent_refusal(doc, talent_id) is None)
