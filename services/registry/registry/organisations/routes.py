"""HTTP routes for organisations: thin, they translate between HTTP and the use cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from servicekit.auth import Principal, Role, require_roles
from servicekit.http import (
    IdempotencyKeyHeader,
    expected_version,
    id_after,
    mark_created,
    next_page,
    set_etag,
)
from servicekit.mongo import Document
from servicekit.routing import Context, IfMatch, Pagination

from registry.organisations import service, store
from registry.organisations.domain import OrganisationKind
from registry.organisations.models import (
    OrganisationCreate,
    OrganisationPage,
    OrganisationRead,
    OrganisationUpdate,
)

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])

Registrar = Annotated[Principal, Depends(require_roles(Role.COORDINATOR, Role.OFFICER))]
Officer = Annotated[Principal, Depends(require_roles(Role.OFFICER))]


def _read(doc: Document) -> OrganisationRead:
    return OrganisationRead(id=doc["_id"], **{k: v for k, v in doc.items() if k != "_id"})


@router.post("", status_code=201, response_model=OrganisationRead,
             responses={409: {"description": "Already registered"}, 422: {"description": "Invalid input"}})
async def register_organisation(data: OrganisationCreate, ctx: Context, caller: Registrar, response: Response,
                                idempotency_key: IdempotencyKeyHeader = None) -> OrganisationRead:
    doc, created = await service.register(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/organisations/{doc['_id']}", created)
    set_etag(response, doc["version"])
    return _read(doc)


@router.get("/{organisation_id}", response_model=OrganisationRead)
async def get_organisation(organisation_id: str, ctx: Context, response: Response) -> OrganisationRead:
    """Public: the registry of participating organisations is open."""
    doc = await service.find(ctx, organisation_id)
    set_etag(response, doc["version"])
    return _read(doc)


@router.patch("/{organisation_id}", response_model=OrganisationRead)
async def update_organisation(organisation_id: str, data: OrganisationUpdate, ctx: Context, caller: Officer,
                              response: Response,
                              if_match: IfMatch = None) -> OrganisationRead:
    doc = await service.change(ctx, organisation_id, data, expected_version(if_match))
    set_etag(response, doc["version"])
    return _read(doc)


@router.get("", response_model=OrganisationPage)
async def list_organisations(
    ctx: Context, page: Pagination,
    kind: OrganisationKind | None = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> OrganisationPage:
    """Public listing, ordered by credit code, with a cursor to the next page."""
    filters: dict[str, str] = {}
    if kind:
        filters["kind"] = kind.value
    if region_code:
        filters["region_code"] = region_code
    after = id_after(page.cursor)
    docs = await store.page(ctx.db[store.COLLECTION], filters, after, page.limit + 1)
    docs, next_cursor = next_page(docs, page.limit)
    return OrganisationPage(items=[_read(d) for d in docs], next_cursor=next_cursor)
