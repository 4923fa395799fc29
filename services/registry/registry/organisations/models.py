"""HTTP shapes of organisations: separate Create / Update / Read models, unknown fields refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field
from servicekit.schemas import RequestModel

from registry.organisations.domain import OrganisationKind, OrganisationStatus
from registry.organisations.identifiers import REGION_PATTERN, USCC_PATTERN, validate_region, validate_uscc

# The patterns document the shape (json_schema_extra); the validators check it, with precise messages.
CreditCode = Annotated[str, Field(examples=["91210100MA0QTEXT09"], json_schema_extra={"pattern": USCC_PATTERN}),
                       AfterValidator(validate_uscc)]
RegionCode = Annotated[str, Field(examples=["210100"], json_schema_extra={"pattern": REGION_PATTERN}),
                       AfterValidator(validate_region)]
Name = Annotated[str, Field(min_length=2, max_length=200)]


class OrganisationCreate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    credit_code: CreditCode = Field(description="Unified Social Credit Code (GB 32100-2015)")
    name: Name
    kind: OrganisationKind
    region_code: RegionCode = Field(description="GB/T 2260 code of where it is registered")
    address: str | None = Field(default=None, max_length=300)
    contact_email: EmailStr | None = None


class OrganisationUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    region_code: RegionCode | None = None
    address: str | None = Field(default=None, max_length=300)
    contact_email: EmailStr | None = None
    status: OrganisationStatus | None = None


class OrganisationRead(BaseModel):
    id: str
    credit_code: str
    name: str
    kind: OrganisationKind
    region_code: str
    address: str | None
    contact_email: str | None
    status: OrganisationStatus
    version: int
    registered_at: datetime
    updated_at: datetime


class OrganisationPage(BaseModel):
    items: list[OrganisationRead]
    next_cursor: str | None
