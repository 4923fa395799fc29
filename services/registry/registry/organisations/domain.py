"""Organisations in the registry: who takes part in the programme. Pure rules, no I/O."""

from __future__ import annotations

from enum import StrEnum


class OrganisationKind(StrEnum):
    ENTERPRISE = "enterprise"
    UNIVERSITY = "university"
    RESEARCH_INSTITUTE = "research_institute"
    PATENT_AGENCY = "patent_agency"
    BANK = "bank"


class OrganisationStatus(StrEnum):
    ACTIVE = "active"
    DEREGISTERED = "deregistered"
