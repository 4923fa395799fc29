"""HTTP shapes of negotiations and offers: separate create / read models, unknown fields refused."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from trading.fields import OrganisationId
from trading.licences.scope import FIELD_OF_USE_PATTERN, TERRITORY_PATTERN, FieldOfUse, Territory
from trading.listings.domain import DealType
from trading.negotiations.domain import NegotiationStatus, Side
from trading.patents.regions import normalise_region


def _field_of_use(text: str) -> str:
    return FieldOfUse.parse(text).symbol


def _territory(text: str) -> str:
    code = Territory.parse(text).code
    return code if code == "CN" else normalise_region(code)  # a code that exists in GB/T 2260


FieldOfUseText = Annotated[str, Field(examples=["H01M 10/0525", "H01M", "*"],
                                      json_schema_extra={"pattern": FIELD_OF_USE_PATTERN}),
                           AfterValidator(_field_of_use)]
TerritoryText = Annotated[str, Field(examples=["CN", "210000", "210200"],
                                     json_schema_extra={"pattern": TERRITORY_PATTERN}),
                          AfterValidator(_territory)]


class DealTerms(RequestModel):
    """What is on offer. Licences need a term; an assignment is for the whole patent and has none."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    deal_type: DealType
    fields_of_use: list[FieldOfUseText] = Field(default=["*"], min_length=1, max_length=20,
                                                description="IPC symbols the licence covers; '*' = every field")
    territories: list[TerritoryText] = Field(default=["CN"], min_length=1, max_length=50,
                                             description="GB/T 2260 region codes, or 'CN' for all of China")
    term_start: date | None = Field(default=None, description="First day of the licence (licences only)")
    term_end: date | None = Field(default=None, description="Last day of the licence, inclusive (licences only)")
    upfront_fee_fen: int = Field(ge=0, le=10**14, description="Lump sum (or assignment price), CNY fen")
    royalty_rate_percent: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=4,
                                          description="Running royalty, percent of net sales")
    agent_organisation_id: OrganisationId | None = Field(default=None, description="The agent's organisation")
    agent_talent_id: str | None = Field(default=None, min_length=1, max_length=64,
                                        description="The agent: an active patent agent or IP service talent")


class NegotiationCreate(RequestModel):
    """Open a negotiation on a published listing with a first offer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    listing_id: str = Field(min_length=1, max_length=64)
    terms: DealTerms
    valid_until: AwareDatetime = Field(description="The offer lapses at this moment unless answered")
    fair_id: str | None = Field(default=None, max_length=64, description="The open fair where this is negotiated")


class CounterOffer(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    terms: DealTerms
    valid_until: AwareDatetime


class PublicityConsentStatement(RequestModel):
    model_config = ConfigDict(extra="forbid")

    consent: bool = Field(description="Whether the caller's organisation agrees to be named, with the amount, in "
                                      "the IPO's publicity about this deal")


class Signature(RequestModel):
    model_config = ConfigDict(extra="forbid")

    signed_on: date | None = Field(default=None, description="When the contract was signed (default today); "
                                                             "the recordal deadline runs from it")


class OfferRead(BaseModel):
    number: int
    made_by: Side
    made_by_organisation_id: str
    terms: DealTerms
    valid_until: datetime
    made_at: datetime


class DealRef(BaseModel):
    kind: str = Field(description="licence or transfer")
    id: str
    href: str


class NegotiationRead(BaseModel):
    id: str
    listing_id: str
    application_number: str
    patent_title: str
    owner_organisation_id: str
    agent_organisation_id: str | None
    counterparty_organisation_id: str
    fair_id: str | None
    status: NegotiationStatus
    your_side: Side
    offers: list[OfferRead]
    current_offer: OfferRead
    deal: DealRef | None
    publicity_consent: dict[str, bool] = Field(
        default_factory=dict, description="Each side's stated consent to publicity (`owner`, `counterparty`); "
                                          "the deal is named in the IPO's news only when both are true")
    version: int
    created_at: datetime
    updated_at: datetime


class NegotiationPage(BaseModel):
    items: list[NegotiationRead]
    next_cursor: str | None
