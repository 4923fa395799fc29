"""HTTP shapes of patents: ownership claims, the officer's decisions, term extensions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from trading.fields import Name, Reference
from trading.patents.domain import ClaimStatus, EvidenceKind, ExtensionBasis
from trading.patents.identifiers import PatentKind


class Evidence(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: EvidenceKind
    reference: Reference = Field(description="The certificate number, or the register extract's reference",
                                 examples=["第1234567号"])
    dated: date = Field(description="The certificate's date of grant, or the extract's date of issue")


class ClaimCreate(RequestModel):
    """An organisation (the token's `org`) claims the patent."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    owners: Annotated[list[Name], Field(min_length=1, max_length=20,
                                        description="The patentees as the national office records them")]
    evidence: Evidence


class ClaimDecision(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Name | None = Field(default=None, description="A note on the verification")


class ClaimRejection(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Name = Field(description="Why the claim is rejected (the claimant reads it)")


class TermExtensionCreate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    days: int = Field(ge=1, le=3660, description="Days added to the term")
    legal_basis: ExtensionBasis = Field(description="patent_law_art_42_2 (grant delay) or patent_law_art_42_3 "
                                                    "(new drug)")
    reference: Reference = Field(description="The office's decision number")


class ClaimRead(BaseModel):
    organisation_id: str
    owners: list[str]
    evidence_kind: EvidenceKind
    evidence_reference: str
    evidence_dated: date
    status: ClaimStatus
    contested: bool = Field(description="Another unverified claim is on the patent: an officer decides")
    reason: str | None
    claimed_at: datetime
    decided_at: datetime | None


class ExtensionRead(BaseModel):
    days: int
    legal_basis: ExtensionBasis
    reference: str
    recorded_on: date


class OpenLicenceRead(BaseModel):
    listing_id: str
    terms: str
    upfront_fee_fen: int
    royalty_rate_percent: str


class DealsOnPatent(BaseModel):
    """Every licence, transfer and pledge recorded on the patent (the owner and staff see these)."""

    licences: list[str]
    transfers: list[str]
    pledges: list[str]


class PatentRead(BaseModel):
    application_number: str
    patent_kind: PatentKind
    verified: bool
    owner_organisation_id: str | None = Field(description="The verified owner")
    open_listing_id: str | None
    open_licence: OpenLicenceRead | None
    term_extensions: list[ExtensionRead]
    claims: list[ClaimRead] = Field(description="Your own claim; every claim for IPO staff")
    deals: DealsOnPatent | None = Field(description="For the verified owner and IPO staff")
    version: int


class QueueItem(BaseModel):
    application_number: str
    contested: bool
    claimants: list[str]
    since: datetime


class ClaimQueue(BaseModel):
    items: list[QueueItem]
