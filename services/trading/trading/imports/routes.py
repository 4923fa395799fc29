"""HTTP route of the bulk import: a CSV body (text/csv), a report back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from servicekit.auth import Principal, Role, require_roles
from servicekit.problems import ProblemError
from servicekit.routing import Context

from trading.imports import service
from trading.imports.models import ImportReport

router = APIRouter(prefix="/v1/listing-imports", tags=["listings"])

Importer = Annotated[Principal, Depends(require_roles(Role.PARTICIPANT, Role.COORDINATOR, Role.OFFICER))]


@router.post("", response_model=ImportReport,
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {
                 "type": "string", "description": "UTF-8 CSV, header row first; problems in it are reported "
                                                  "row by row in the 200 report"}}}}})
async def import_listings(
    request: Request, ctx: Context, caller: Importer,
    owner: Annotated[str | None, Query(min_length=18, max_length=18,
                                       description="Owner of rows without owner_organisation_id")] = None,
    publish: Annotated[bool, Query(description="Publish the listings created")] = False,
    first_row: Annotated[int, Query(ge=2, description="Row number of the first data row (for chunked files)")] = 2,
) -> ImportReport:
    """Import listings from a CSV file (header row first; see trading/imports/rows.py for the columns).
    Good rows are created (once: re-importing finds them), bad rows come back with row, column and
    reason. Participants import for their own organisation; coordinators and officers for any."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("text/csv", "text/plain"):
        raise ProblemError(415, "Unsupported media type", "Send the CSV file as the body with Content-Type: "
                           "text/csv.", kind="unsupported-media-type",
                           errors=[{"header": "Content-Type", "detail": f"got {media or 'nothing'}"}])
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(422, "Not UTF-8", f"The CSV must be UTF-8 encoded: {exc}", kind="not-utf8",
                           errors=[{"pointer": "#", "detail": "not UTF-8"}]) from None
    return await service.import_csv(ctx, text, caller, owner.upper() if owner else None, publish, first_row)
