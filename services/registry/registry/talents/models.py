"""HTTP shapes of talents: Create / Update / StatusChange in, a public and a full view out.

The identity number is write-only: it is accepted as a secret string (so it never shows in a repr or
a validation error), validated, hashed by the service and dropped. No read shape has a field for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, SecretStr, field_validator, model_validator
from servicekit.schemas import RequestModel, not_nullable

from registry.organisations.models import CreditCode, RegionCode
from registry.talents.domain import TalentCategory, TalentLevel, TalentStatus
from registry.talents.identity import IDENTITY_NUMBER_PATTERN, normalise_identity_number

PersonName = Annotated[str, Field(min_length=2, max_length=100, examples=["Li Ming"])]
Categories = Annotated[list[TalentCategory], Field(min_length=1, max_length=5,
                                                   json_schema_extra={"uniqueItems": True})]


class Qualification(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200, examples=["Patent attorney qualification"])
    issuer: str | None = Field(default=None, max_length=200)
    year: int | None = Field(default=None, ge=1950, le=2100)


class Contact(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 -]{5,19}$")


def _distinct(categories: list[TalentCategory]) -> list[TalentCategory]:
    if len(set(categories)) != len(categories):
        raise ValueError("a category is listed twice")
    return categories


class TalentCreate(RequestModel):
    # hide_input_in_errors: a validation error must not carry the identity number into a log.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)

    name: PersonName
    identity_number: SecretStr = Field(description="18-character resident identity number (GB 11643); "
                                                   "write-only, kept only as a keyed hash",
                                       json_schema_extra={"pattern": IDENTITY_NUMBER_PATTERN})
    employer_organisation_id: CreditCode = Field(description="credit code of an active registered organisation")
    region_code: RegionCode = Field(description="GB/T 2260 code of where the talent works")
    categories: Categories
    qualifications: list[Qualification] = Field(default_factory=list, max_length=20)
    contact: Contact = Field(default_factory=Contact)
    account_subject: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="`sub` of the talent's own login token; that token may then read this record")

    @field_validator("identity_number")
    @classmethod
    def _valid_identity_number(cls, value: SecretStr) -> SecretStr:
        return SecretStr(normalise_identity_number(value.get_secret_value()))

    @field_validator("categories")
    @classmethod
    def _distinct_categories(cls, value: list[TalentCategory]) -> list[TalentCategory]:
        return _distinct(value)


class TalentUpdate(RequestModel):
    """Fields to change; those left out stay as they are. Level and status have their own workflows."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=not_nullable(
        "name", "employer_organisation_id", "region_code", "categories"))

    name: PersonName | None = None
    employer_organisation_id: CreditCode | None = None
    region_code: RegionCode | None = None
    categories: Categories | None = None
    qualifications: list[Qualification] | None = Field(default=None, max_length=20)
    contact: Contact | None = None
    account_subject: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("categories")
    @classmethod
    def _distinct_categories(cls, value: list[TalentCategory] | None) -> list[TalentCategory] | None:
        return None if value is None else _distinct(value)

    @model_validator(mode="after")
    def _no_null_for_required(self) -> TalentUpdate:
        for name in ("name", "employer_organisation_id", "region_code", "categories"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be removed, only changed")
        return self


class StatusChange(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: TalentStatus
    reason: str = Field(min_length=3, max_length=500, description="shown in the public history")


class StatusHistoryEntry(BaseModel):
    status: TalentStatus
    previous_status: TalentStatus | None
    reason: str
    changed_at: datetime


class CertificationRead(BaseModel):
    level: TalentLevel
    category: TalentCategory
    certificate_number: str
    granted_at: datetime


class TalentPublic(BaseModel):
    """What anyone may see: no contact, no login binding, nothing about the identity number."""

    talent_id: str
    registration_number: str
    name: str
    employer_organisation_id: str
    region_code: str
    categories: list[TalentCategory]
    level: TalentLevel | None
    status: TalentStatus
    status_history: list[StatusHistoryEntry]
    certifications: list[CertificationRead]
    registered_at: datetime
    version: int


class TalentRead(TalentPublic):
    """Coordinators, officers and the talent itself."""

    qualifications: list[Qualification]
    contact: Contact
    account_subject: str | None
    employer_kind: str
    updated_at: datetime


class TalentPage(BaseModel):
    items: list[TalentRead]
    next_cursor: str | None


PUBLIC_FIELDS = frozenset(TalentPublic.model_fields)


def public_view(doc: dict[str, Any]) -> TalentPublic:
    return TalentPublic.model_validate({k: v for k, v in _view(doc).items() if k in PUBLIC_FIELDS})


def full_view(doc: dict[str, Any]) -> TalentRead:
    return TalentRead.model_validate(_view(doc))


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    history = [{k: e[k] for k in ("status", "previous_status", "reason", "changed_at")}
               for e in doc.get("status_history", [])]
    certifications = [{k: c[k] for k in ("level", "category", "certificate_number", "granted_at")}
                      for c in doc.get("certifications", [])]
    return {**doc, "talent_id": doc["_id"], "status_history": history, "certifications": certifications}
