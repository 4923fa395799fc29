"""CSV import of listings: the participant uploads a file of listings (the columns of the trading
API's import), optionally publishing what it creates, and reads the report row by row. The API
answers with the whole report at once (it imports up to 5,000 rows in one request), so the page shows
the counts and every rejected row with its column and reason; nothing is kept in the portal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from portal.apis import ApiProblem
from portal.pages.common import apis, formatter, render, require_csrf, signed_in_or_redirect, token
from portal.pages.dealing import errors_of
from portal.sessions import load

router = APIRouter()
# Far above the API's 5,000 rows of a few hundred bytes: a larger upload is refused before it is read whole.
MAX_BYTES = 8 * 1024 * 1024


@router.get("/my/listings/import", response_class=HTMLResponse)
async def import_form(request: Request) -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    return render(request, "listing_import.html", report=None, errors={}, publish=False)


@router.post("/my/listings/import", response_class=HTMLResponse)
async def import_listings(request: Request, csrf_token: Annotated[str, Form()] = "",
                          file: Annotated[UploadFile | None, File()] = None,
                          publish: Annotated[str, Form()] = "") -> Response:
    if (redirect := signed_in_or_redirect(request, "participant")) is not None:
        return redirect
    require_csrf(load(request), csrf_token)
    fmt = formatter(request)
    content = await file.read(MAX_BYTES + 1) if file is not None else b""
    errors: dict[str, str] = {}
    report = None
    if not content:
        errors["file"] = fmt.gettext("Choose a CSV file.")
    elif len(content) > MAX_BYTES:
        errors["file"] = fmt.gettext("The file is too large: split it into files of at most 5,000 rows.")
    else:
        try:
            response = await apis(request).call(
                "trading", "POST", "/v1/listing-imports", token=await token(request), content=content,
                params={"publish": "true" if publish else "false"}, headers={"Content-Type": "text/csv"})
            report = response.json()
        except ApiProblem as problem:
            found = errors_of(problem, fmt)
            errors["file"] = found.get("") or next(iter(found.values()))
    return render(request, "listing_import.html", status=422 if errors else 200, report=report, errors=errors,
                  publish=bool(publish))
