"""Who is calling, as the deal routes need it: a participant acting for an organisation (the token's
`org` claim), or IPO staff."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends
from servicekit.auth import Principal, Role, require_roles
from servicekit.mongo import Collection, Document
from servicekit.problems import ProblemError

STAFF = (Role.OFFICER, Role.COORDINATOR)


async def _acting_for_organisation(
    principal: Annotated[Principal, Depends(require_roles(Role.PARTICIPANT))],
) -> Principal:
    if not principal.organisation_id:
        raise ProblemError(403, "Forbidden", "Deals are made by organisations: this token carries no `org` claim.",
                           kind="no-organisation")
    return principal


Participant = Annotated[Principal, Depends(_acting_for_organisation)]
"""A participant whose token names the organisation it acts for."""

Anyone = Annotated[Principal, Depends(require_roles(Role.PARTICIPANT, *STAFF))]
"""A participant (possibly without an organisation) or IPO staff; object-level checks decide the rest."""

Staff = Annotated[Principal, Depends(require_roles(*STAFF))]
Officer = Annotated[Principal, Depends(require_roles(Role.OFFICER))]


def is_staff(principal: Principal) -> bool:
    return principal.has_any(STAFF)


async def page_for_caller(collection: Collection, caller: Principal, filters: dict[str, Any], after: str | None,
                          limit: int, hidden: Sequence[str], *, patent_owner: bool = False) -> list[Document]:
    """One page by `_id` of the deal documents (each with its `parties`) the caller may see: those its
    organisation is party to, or all of them for IPO staff and, filtered to one patent, for that
    patent's verified owner (`patent_owner`). `filters` are equality filters; None drops one."""
    query: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
    if not (is_staff(caller) or patent_owner):
        query["parties"] = caller.organisation_id or ""
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = collection.find(query, {f: 0 for f in hidden}).sort("_id", 1).limit(limit)
    return [d async for d in cursor]
