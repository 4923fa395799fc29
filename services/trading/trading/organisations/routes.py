"""Read access to trading's organisation projection (public: the same data the registry publishes)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from servicekit.problems import ProblemError
from servicekit.routing import Context

from trading.organisations.projection import COLLECTION, may_list_patents

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])


class ProjectedOrganisation(BaseModel):
    id: str
    name: str
    kind: str
    region_code: str
    status: str
    version: int
    may_list_patents: bool


@router.get("/{organisation_id}", response_model=ProjectedOrganisation)
async def get_projected_organisation(organisation_id: str,
                                     ctx: Context) -> ProjectedOrganisation:
    doc = await ctx.db[COLLECTION].find_one({"_id": organisation_id}, {"applied_events": 0})
    if doc is None:
        raise ProblemError(404, "Not found", f"Trading knows no organisation {organisation_id}.", kind="not-found")
    return ProjectedOrganisation(id=doc["_id"], name=doc["name"], kind=doc["kind"], region_code=doc["region_code"],
                                 status=doc["status"], version=doc["version"], may_list_patents=may_list_patents(doc))
