"""HTTP routes for match suggestions: each party sees its own, nobody else sees any."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from servicekit.auth import Principal, Role, require_roles
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.routing import Context

from trading.matching import store

router = APIRouter(prefix="/v1/matches", tags=["matches"])

Participant = Annotated[Principal, Depends(require_roles(Role.PARTICIPANT))]


class MatchRead(BaseModel):
    id: str
    listing_id: str
    demand_id: str
    listing_title: str
    demand_title: str
    listing_owner_organisation_id: str
    demand_organisation_id: str
    score: int
    reasons: list[str]
    suggested_at: datetime


class MatchPage(BaseModel):
    items: list[MatchRead]
    next_cursor: str | None


def read_model(doc: Document) -> MatchRead:
    return MatchRead(id=doc["_id"], **{k: v for k, v in doc.items() if k not in ("_id", "parties")})


@router.get("", response_model=MatchPage)
async def my_matches(ctx: Context, caller: Participant, listing_id: str | None = None,
                     demand_id: str | None = None) -> MatchPage:
    """Matches where the caller's organisation is a party (listing owner or agent, or demand owner),
    best first; filter by listing or demand."""
    if not caller.organisation_id:
        return MatchPage(items=[], next_cursor=None)
    docs = await store.for_party(ctx.db, caller.organisation_id, listing_id, demand_id)
    return MatchPage(items=[read_model(d) for d in docs], next_cursor=None)


@router.get("/{match_id}", response_model=MatchRead)
async def get_match(match_id: str, ctx: Context, caller: Participant) -> MatchRead:
    doc = await store.get(ctx.db, match_id)
    if doc is None or caller.organisation_id not in doc["parties"]:
        raise ProblemError(404, "Not found", f"No match {match_id} that you may see.", kind="not-found")
    return read_model(doc)
