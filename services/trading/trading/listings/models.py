"""HTTP shapes of listings: separate Create / Update / Read models, unknown fields refused.

Creating a listing (deals tests and the CSV import use this too):

    POST /v1/listings          (participant token whose `org` claim is the owner's credit code; the
                                owner must be active in trading's organisation projection)
    {
      "application_number": "202310123456.6",     # or ZL..., check character verified
      "patent_kind": "invention",                 # must agree with the number's type digit
      "title": "锂离子电池隔膜", "abstract": "...",
      "ipc_codes": ["H01M 10/0525"],              # invention / utility model: at least one
      "locarno_classes": [],                      # designs: at least one, e.g. "12-16"
      "co_owner_organisation_ids": [], "agent_organisation_id": null,
      "industry": "new_energy", "region_code": "210200",
      "legal_status": "granted",
      "filing_date": "2023-05-02",                # its year must be the number's (PCT: up to 3 earlier)
      "expires_on": null,                         # null = computed from kind and filing date; a declared
                                                  # date may be earlier (a lapsed patent), never later
      "deal_types": ["exclusive_licence", "ordinary_licence"],
      "price_fen": 50000000,                      # null = negotiable
      "open_licence_terms": null                  # required when deal_types has open_licence
    }

It is created as a draft; `POST /v1/listings/{id}/publish` with `If-Match` publishes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from trading.fields import (
    MULTI_LINE_PATTERN,
    SINGLE_LINE_PATTERN,
    ApplicationNumber,
    OrganisationId,
    clean_line,
    clean_text,
)
from trading.listings.domain import DealType, Industry, LegalStatus, ListingStatus
from trading.patents.identifiers import (
    IPC_PATTERN,
    LOCARNO_PATTERN,
    PatentKind,
    normalise_ipc,
    normalise_locarno,
)
from trading.patents.regions import REGION_PATTERN, normalise_region


def _unique(values: list[DealType]) -> list[DealType]:
    if len(set(values)) != len(values):
        raise ValueError("each deal type at most once")
    return values


IpcCode = Annotated[str, Field(examples=["H01M 10/0525"], json_schema_extra={"pattern": IPC_PATTERN}),
                    AfterValidator(normalise_ipc)]
LocarnoClass = Annotated[str, Field(examples=["12-16"], json_schema_extra={"pattern": LOCARNO_PATTERN}),
                         AfterValidator(normalise_locarno)]
RegionCode = Annotated[str, Field(examples=["210200"], json_schema_extra={"pattern": REGION_PATTERN}),
                       AfterValidator(normalise_region)]
DealTypes = Annotated[list[DealType], Field(min_length=1, max_length=5, json_schema_extra={"uniqueItems": True}),
                      AfterValidator(_unique)]
RoyaltyRate = Annotated[Decimal, Field(ge=0, le=100, decimal_places=4)]
PriceFen = Annotated[int, Field(ge=0, le=10 ** 14, description="CNY fen (1 yuan = 100 fen)")]
Title = Annotated[str, Field(min_length=2, max_length=200, json_schema_extra={"pattern": SINGLE_LINE_PATTERN}),
                  AfterValidator(clean_line)]
Abstract = Annotated[str, Field(max_length=5000, json_schema_extra={"pattern": MULTI_LINE_PATTERN}),
                     AfterValidator(clean_text)]
OpenLicenceTerms = Annotated[str, Field(max_length=2000, json_schema_extra={"pattern": MULTI_LINE_PATTERN}),
                             AfterValidator(clean_text)]


class ListingCreate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    application_number: ApplicationNumber = Field(description="CN application or patent (ZL) number")
    patent_kind: PatentKind
    title: Title
    abstract: Abstract = ""
    ipc_codes: Annotated[list[IpcCode], Field(max_length=20)] = []
    locarno_classes: Annotated[list[LocarnoClass], Field(max_length=10)] = []
    co_owner_organisation_ids: Annotated[list[OrganisationId], Field(max_length=10)] = []
    agent_organisation_id: OrganisationId | None = None
    industry: Industry
    region_code: RegionCode
    legal_status: LegalStatus
    filing_date: date = Field(description="The application's filing date (the international one for a PCT "
                                          "national-phase number); the term runs from it")
    expires_on: date | None = Field(default=None, description="The last day in force, if the patent lapses before "
                                                              "its legal term; default: computed from the kind, "
                                                              "filing date and recorded extensions")
    deal_types: DealTypes
    price_fen: PriceFen | None = Field(default=None, description="Asking price in fen; null = negotiable")
    open_licence_terms: OpenLicenceTerms | None = None
    open_licence_royalty_rate_percent: RoyaltyRate | None = Field(
        default=None, description="The open licence's running royalty (percent of net sales), taken by notice")
    open_licence_fee_fen: PriceFen | None = Field(default=None, description="The open licence's lump sum, fen")


class ListingUpdate(RequestModel):
    """Changes to a draft or published listing; the patent's identity (number, kind) cannot change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title | None = None
    abstract: Abstract | None = None
    ipc_codes: Annotated[list[IpcCode], Field(max_length=20)] | None = None
    locarno_classes: Annotated[list[LocarnoClass], Field(max_length=10)] | None = None
    co_owner_organisation_ids: Annotated[list[OrganisationId], Field(max_length=10)] | None = None
    agent_organisation_id: OrganisationId | None = None
    industry: Industry | None = None
    region_code: RegionCode | None = None
    legal_status: LegalStatus | None = None
    expires_on: date | None = None
    deal_types: DealTypes | None = None
    price_fen: PriceFen | None = None
    open_licence_terms: OpenLicenceTerms | None = None
    open_licence_royalty_rate_percent: RoyaltyRate | None = None
    open_licence_fee_fen: PriceFen | None = None


class ListingRead(BaseModel):
    id: str
    application_number: str
    patent_kind: PatentKind
    title: str
    abstract: str
    ipc_codes: list[str]
    locarno_classes: list[str]
    owner_organisation_id: str
    co_owner_organisation_ids: list[str]
    agent_organisation_id: str | None
    industry: Industry
    region_code: str
    legal_status: LegalStatus
    filing_date: date | None = None
    expires_on: date
    deal_types: list[DealType]
    price_fen: int | None
    open_licence_terms: str | None
    open_licence_royalty_rate_percent: Decimal | None = None
    open_licence_fee_fen: int | None = None
    status: ListingStatus
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class ListingPage(BaseModel):
    items: list[ListingRead]
    next_cursor: str | None


def listing_page_json(cards: Sequence[str], next_cursor: str | None) -> bytes:
    """A ListingPage as JSON, made from result cards stored already serialized from ListingRead
    (search_store.card): the same document FastAPI would send for ListingPage(items=[...]), without
    parsing, validating and serializing every card again on every search (README, "Nineteenth
    session": search p95 through the API, side by side)."""
    items = ",".join(cards)
    return f'{{"items":[{items}],"next_cursor":{json.dumps(next_cursor)}}}'.encode()
