"""The pages. Each is one thing (GOV.UK style): it asks an API, renders a template in the user's
language, and shows an API's refusal beside the field it concerns. htmx only enhances: every link and
form works as plain HTML, and an htmx request gets the page's fragment instead of the whole page.

One module per thing the pages are about; `common` holds what they share."""

from __future__ import annotations

from fastapi import APIRouter

from portal.pages import (
    catalogue,
    coordinator,
    events_news,
    imports,
    licences,
    negotiations,
    office,
    patents,
    pledges,
    public,
    signin,
    transfers,
)
from portal.pages.errors import install_error_pages

router = APIRouter()
for module in (public, signin, catalogue, events_news, coordinator, office):
    router.include_router(module.router)
# Trading: ownership, imports, negotiations and the deals they make, with the officer's queues.
for module in (patents, imports, negotiations, licences, transfers, pledges):
    router.include_router(module.router)

__all__ = ["install_error_pages", "router"]
