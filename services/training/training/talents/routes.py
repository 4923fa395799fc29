"""Read access to training's projection of a talent: whether it may enrol, as training sees it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from servicekit.auth import Principal, Role, current_principal
from servicekit.problems import ProblemError
from servicekit.routing import Context

from training.talents import projection
from training.talents.domain import may_take_part

router = APIRouter(prefix="/v1/talents", tags=["talents"])


class ProjectedTalent(BaseModel):
    id: str
    registration_number: str
    name: str
    employer_organisation_id: str
    categories: list[str]
    level: str | None
    status: str
    status_reason: str | None
    version: int
    may_enrol: bool


@router.get("/{talent_id}", response_model=ProjectedTalent)
async def get_projected_talent(talent_id: str, ctx: Context,
                               caller: Annotated[Principal, Depends(current_principal)]) -> ProjectedTalent:
    """The talent itself, coordinators and officers (404 to anyone else, as for an unknown talent)."""
    doc = await projection.get(ctx.db, talent_id)
    if doc is None or not (projection.is_the_talent(caller, talent_id, doc)
                           or caller.has_any([Role.COORDINATOR, Role.OFFICER])):
        raise ProblemError(404, "Not found", f"Training knows no talent {talent_id} you may see.", kind="not-found")
    return ProjectedTalent(id=doc["_id"], registration_number=doc["registration_number"], name=doc["name"],
                           employer_organisation_id=doc["employer_organisation_id"], categories=doc["categories"],
                           level=doc.get("level"), status=doc["status"], status_reason=doc.get("status_reason"),
                           version=doc["version"], may_enrol=may_take_part(doc["status"]))
