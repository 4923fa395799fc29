"""HTTP routes for listings: thin, they translate between HTTP and the use cases."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from servicekit.auth import Principal, Role, require_roles
from servicekit.http import (
    IdempotencyKeyHeader,
    decode_cursor,
    encode_cursor,
    expected_version,
    mark_created,
    set_etag,
)
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.routing import Context, IfMatch, MaybeCaller, Pagination

from trading.listings import search_store, service, store
from trading.listings.domain import DealType, Industry
from trading.listings.metrics import LISTING_METRICS
from trading.listings.models import ListingCreate, ListingPage, ListingRead, ListingUpdate, listing_page_json
from trading.listings.search import SearchQuery, SearchSort, sort_key
from trading.listings.tokens import query_tokens
from trading.patents.identifiers import IPC_PREFIX_PATTERN, IdentifierError, normalise_ipc_prefix
from trading.patents.regions import REGION_PATTERN, normalise_region

log = logging.getLogger(__name__)

# Keywords hold something searchable: a Latin word of 2+ letters or digits, or a Han character.
SEARCHABLE_PATTERN = r"[0-9A-Za-z]{2}|[\u3400-\u9fff]"

router = APIRouter(prefix="/v1/listings", tags=["listings"])

Participant = Annotated[Principal, Depends(require_roles(Role.PARTICIPANT))]


def read_model(doc: Document) -> ListingRead:
    return ListingRead(id=doc["_id"], **{k: v for k, v in doc.items() if k != "_id"})


def _answer(response: Response, doc: Document) -> ListingRead:
    set_etag(response, doc["version"])
    return read_model(doc)


def _parsed(parse: Callable[[str], str], value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return parse(value)
    except IdentifierError as exc:
        raise ProblemError(422, "Invalid request", f"{name}: {exc}", kind="validation",
                           errors=[{"query": name, "detail": str(exc)}]) from None


@router.post("", status_code=201, response_model=ListingRead,
             responses={403: {"description": "No active organisation"}, 422: {"description": "Invalid input"}})
async def create_listing(data: ListingCreate, ctx: Context, caller: Participant, response: Response,
                         idempotency_key: IdempotencyKeyHeader = None) -> ListingRead:
    """Create a draft listing owned by the caller's organisation (`org` claim)."""
    doc, created = await service.create(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/listings/{doc['_id']}", created)
    return _answer(response, doc)


@router.get("", response_model=ListingPage)
async def search_listings(
    ctx: Context, page: Pagination,
    q: Annotated[str | None, Query(max_length=200, description="Keywords in title and abstract (all must match)",
                                   json_schema_extra={"pattern": SEARCHABLE_PATTERN})]
    = None,
    ipc: Annotated[str | None, Query(max_length=20, description="IPC prefix: H, H01, H01M, H01M 10 or full",
                                     json_schema_extra={"pattern": IPC_PREFIX_PATTERN})] = None,
    industry: Industry | None = None,
    region: Annotated[str | None, Query(description="GB/T 2260 code; a province or city includes its parts",
                                        json_schema_extra={"pattern": REGION_PATTERN})] = None,
    deal_type: Annotated[list[DealType] | None, Query(description="Any of these deal types")] = None,
    price_min: Annotated[int | None, Query(ge=0, description="fen")] = None,
    price_max: Annotated[int | None, Query(ge=0, description="fen")] = None,
    sort: SearchSort = SearchSort.NEWEST,
) -> Response:
    """Public search over published listings (listings under negotiation, closed or withdrawn are not
    offered; a listing under negotiation stays readable by id)."""
    keywords: tuple[str, ...] = ()
    if q is not None:
        keywords = tuple(query_tokens(q))
        if not keywords:
            raise ProblemError(422, "Invalid request", "The keywords contain nothing searchable.",
                               kind="validation", errors=[{"query": "q", "detail": "no searchable words"}])
    ipc_prefix = _parsed(normalise_ipc_prefix, ipc, "ipc")
    region_code = _parsed(normalise_region, region, "region")
    if price_min is not None and price_max is not None and price_min > price_max:
        raise ProblemError(422, "Invalid request", "price_min is above price_max.", kind="validation",
                           errors=[{"query": "price_min", "detail": "above price_max"}])
    after = None
    if page.cursor:
        position = decode_cursor(page.cursor)
        if len(position) < 2 or position[0] != sort.value or not all(isinstance(v, int) for v in position[1:]):
            raise ProblemError(400, "Bad cursor", "The cursor is not one this search issued.", kind="bad-cursor",
                               errors=[{"query": "cursor", "detail": "wrong shape or another sort"}])
        after = tuple(int(v) for v in position[1:])
    query = SearchQuery(keywords=keywords, ipc_prefix=ipc_prefix, industry=industry.value if industry else None,
                        region_code=region_code, deal_types=tuple(d.value for d in deal_type or ()),
                        price_min=price_min, price_max=price_max, sort=sort, after=after, limit=page.limit)
    postings, more = await search_store.search(ctx.db, query)
    found = await search_store.cards(ctx.db, [p.listing_id for p in postings])
    items = [found[p.listing_id] for p in postings if p.listing_id in found]
    LISTING_METRICS.searches.inc()
    next_cursor = encode_cursor([sort.value, *sort_key(sort, postings[-1])]) if more and postings else None
    # The cards are ListingRead JSON already; the page is documented by response_model above.
    return Response(listing_page_json(items, next_cursor), media_type="application/json")


@router.get("/mine", response_model=ListingPage)
async def my_listings(ctx: Context, caller: Participant) -> ListingPage:
    """The caller's organisation's listings in every status (as owner or agent), oldest first."""
    if not caller.organisation_id:
        return ListingPage(items=[], next_cursor=None)
    return ListingPage(items=[read_model(d) for d in await store.by_owner(ctx.db, caller.organisation_id)],
                       next_cursor=None)


@router.get("/{listing_id}", response_model=ListingRead)
async def get_listing(listing_id: str, ctx: Context, caller: MaybeCaller, response: Response) -> ListingRead:
    """Public for published and under-negotiation listings; otherwise only the owner, its agent and
    co-owners (anyone else gets 404)."""
    return _answer(response, await service.find(ctx, listing_id, caller))


@router.patch("/{listing_id}", response_model=ListingRead)
async def update_listing(listing_id: str, data: ListingUpdate, ctx: Context, caller: Participant,
                         response: Response, if_match: IfMatch = None) -> ListingRead:
    doc = await service.change(ctx, listing_id, data, caller, expected_version(if_match))
    return _answer(response, doc)


@router.post("/{listing_id}/publication", response_model=ListingRead,
             responses={409: {"description": "Not a draft, or the patent has expired"}})
# Deprecated: the old name of this action, kept working (README, "Action routes").
@router.post("/{listing_id}/publish", response_model=ListingRead, include_in_schema=False)
async def publish_listing(listing_id: str, ctx: Context, caller: Participant, response: Response,
                          if_match: IfMatch = None) -> ListingRead:
    doc = await service.publish(ctx, listing_id, caller, expected_version(if_match))
    return _answer(response, doc)


@router.post("/{listing_id}/withdrawal", response_model=ListingRead)
# Deprecated: the old name of this action, kept working (README, "Action routes").
@router.post("/{listing_id}/withdraw", response_model=ListingRead, include_in_schema=False)
async def withdraw_listing(listing_id: str, ctx: Context, caller: Participant, response: Response,
                           if_match: IfMatch = None) -> ListingRead:
    doc = await service.withdraw(ctx, listing_id, caller, expected_version(if_match))
    return _answer(response, doc)
