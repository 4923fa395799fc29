"""Listings: the rules, free of I/O.

A listing offers one patent (or patent application) for one or more kinds of deal. Its lifecycle:

    draft -> published -> under_negotiation -> closed
         \\          \\              \\-> published (the negotiation ended without a deal)
          \\-> withdrawn \\-> withdrawn

Only the owner organisation (or the agent organisation it names) changes a listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from trading.patents.identifiers import PatentKind


class ListingStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    UNDER_NEGOTIATION = "under_negotiation"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class DealType(StrEnum):
    ASSIGNMENT = "assignment"
    EXCLUSIVE_LICENCE = "exclusive_licence"
    SOLE_LICENCE = "sole_licence"
    ORDINARY_LICENCE = "ordinary_licence"
    OPEN_LICENCE = "open_licence"


class LegalStatus(StrEnum):
    PENDING = "pending"   # an application under examination
    GRANTED = "granted"


class Industry(StrEnum):
    """The province's key industries, for the fair visitor's industry filter."""

    EQUIPMENT_MANUFACTURING = "equipment_manufacturing"
    NEW_MATERIALS = "new_materials"
    NEW_ENERGY = "new_energy"
    ELECTRONICS_INFORMATION = "electronics_information"
    BIOMEDICINE = "biomedicine"
    PETROCHEMICALS = "petrochemicals"
    AGRICULTURE_FOOD = "agriculture_food"
    ENERGY_SAVING_ENVIRONMENT = "energy_saving_environment"
    OTHER = "other"


# Statuses anyone may read without a token; everything else is private to the owner and its agent.
PUBLIC_STATUSES = frozenset({ListingStatus.PUBLISHED, ListingStatus.UNDER_NEGOTIATION})
# Where the owner may still edit the offer.
EDITABLE_STATUSES = frozenset({ListingStatus.DRAFT, ListingStatus.PUBLISHED})
WITHDRAWABLE_STATUSES = frozenset({ListingStatus.DRAFT, ListingStatus.PUBLISHED})
# A patent has at most one listing in these statuses (listings/service.py, insert_new).
OPEN_STATUSES = frozenset({ListingStatus.DRAFT, ListingStatus.PUBLISHED, ListingStatus.UNDER_NEGOTIATION})
EXCLUSIVE_KINDS = frozenset({DealType.EXCLUSIVE_LICENCE, DealType.SOLE_LICENCE})


@dataclass(frozen=True)
class ListingTerms:
    """What the deals code needs to know about a listing."""

    listing_id: str
    application_number: str
    patent_kind: str
    title: str
    owner_organisation_id: str
    co_owner_organisation_ids: tuple[str, ...]
    agent_organisation_id: str | None
    status: ListingStatus
    deal_types: tuple[DealType, ...]
    price_fen: int | None
    expires_on: date
    version: int


class RuleViolation(ValueError):
    """A listing rule refused a change; `field` names the body field concerned, if any."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.field = field


def check_offer(deal_types: tuple[DealType, ...] | list[DealType], open_licence_terms: str | None) -> None:
    """An open licence needs published terms, and excludes exclusive or sole licences (Patent Law art. 50
    and its implementing rules: an open-licensed patent cannot carry an exclusive or sole licence)."""
    kinds = set(deal_types)
    if DealType.OPEN_LICENCE in kinds and not (open_licence_terms or "").strip():
        raise RuleViolation("open-licence-terms-missing",
                            "an open licence needs its published royalty terms", "open_licence_terms")
    if DealType.OPEN_LICENCE in kinds and kinds & EXCLUSIVE_KINDS:
        raise RuleViolation("open-licence-excludes-exclusive",
                            "a patent under an open licence cannot also be offered for an exclusive or sole "
                            "licence", "deal_types")
    if DealType.OPEN_LICENCE not in kinds and open_licence_terms:
        raise RuleViolation("open-licence-terms-without-open-licence",
                            "open licence terms are only for listings offering an open licence",
                            "open_licence_terms")


def check_kind_matches_number(kind: PatentKind, application_kind: PatentKind) -> None:
    if kind != application_kind:
        raise RuleViolation("kind-mismatch",
                            f"the application number's type digit says {application_kind.value}, not "
                            f"{kind.value}", "patent_kind")


def check_publishable(status: ListingStatus, expires_on: date, today: date) -> None:
    if status != ListingStatus.DRAFT:
        raise RuleViolation("not-a-draft", f"only a draft can be published; this listing is {status.value}")
    if expires_on < today:
        raise RuleViolation("patent-expired",
                            f"the patent expired on {expires_on.isoformat()}; an expired patent cannot be "
                            "published", "expires_on")


def check_withdrawable(status: ListingStatus) -> None:
    if status not in WITHDRAWABLE_STATUSES:
        raise RuleViolation("not-withdrawable",
                            f"a listing that is {status.value} cannot be withdrawn"
                            + (" (end the negotiation first)" if status == ListingStatus.UNDER_NEGOTIATION
                               else ""))


def check_editable(status: ListingStatus) -> None:
    if status not in EDITABLE_STATUSES:
        raise RuleViolation("not-editable", f"a listing that is {status.value} can no longer be changed")


def may_change(organisation_id: str | None, owner: str, agent: str | None) -> bool:
    """Only the owner organisation or its named agent organisation changes a listing."""
    return organisation_id is not None and organisation_id in {owner, agent}


def may_read(organisation_id: str | None, status: ListingStatus, owner: str, agent: str | None,
             co_owners: tuple[str, ...] | list[str], staff: bool = False) -> bool:
    """Published listings are public; the rest only for the owner, its agent, co-owners and IPO staff."""
    if status in PUBLIC_STATUSES or staff:
        return True
    return organisation_id is not None and (organisation_id in {owner, agent} or organisation_id in co_owners)
