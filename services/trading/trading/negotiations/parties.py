"""Who is calling, as the deal routes need it: a participant acting for an organisation (the token's
`org` claim), or IPO staff."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends
from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.auth import Principal, Role, require_roles
from servicekit.mongo import Database, Document
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


def deal_lists(collection: str) -> Callable[[Document], dict[str, list[str | None]]]:
    """The lookups a deal collection's list page reads (servicekit.lookups): every deal, by patent and
    by party. For the deal aggregates' `listed`."""
    def lists(doc: Document) -> dict[str, list[str | None]]:
        return {collection: [aggregates.EVERYTHING], f"{collection}_by_patent": [doc.get("application_number")],
                f"{collection}_by_party": list(doc.get("parties") or [])}
    return lists


async def page_for_caller(db: Database, aggregate: Aggregate, caller: Principal, filters: dict[str, Any],
                          after: str | None, limit: int, *, patent_owner: bool = False) -> list[Document]:
    """One page of the deal documents (each with its `parties`) the caller may see: those its
    organisation is party to, or all of them for IPO staff and, filtered to one patent, for that
    patent's verified owner (`patent_owner`). `filters` are equality filters; None drops one. Served
    from the collection's lookups (`deal_lists`): by patent when one is named, else by party, else all."""
    query: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
    if not (is_staff(caller) or patent_owner):
        query["parties"] = caller.organisation_id or ""
    name = aggregate.collection
    return await aggregates.filtered_page(db, aggregate, query, after=after, limit=limit,
                                          by={"application_number": f"{name}_by_patent", "parties": f"{name}_by_party"},
                                          everything=name)
