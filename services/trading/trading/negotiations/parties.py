"""Who is calling, as the deal routes need it: a participant acting for an organisation (the token's
`org` claim), or IPO staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from servicekit.auth import Principal, Role, require_roles
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
