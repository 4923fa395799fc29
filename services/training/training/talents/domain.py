"""What training needs to know about a talent, and the suspension policy. Pure rules, no I/O.

Suspension policy (what a coordinator expects):
- only ACTIVE talents may request, be approved for or book a seat in a session;
- SUSPENDED or INACTIVE: existing enrolments are kept (the suspension may be lifted before the
  session), shown with the talent's status, but attendance and assessment are refused and the talent
  is skipped (keeping its place) when the waitlist is promoted, until the registry reinstates it;
- REMOVED: removal is final, so every enrolment still open in a session that has not ended
  (requested, approved, waitlisted, booked) is cancelled with the registry's reason, and a freed seat
  goes to the waitlist at once. Finished history (attended, completed, no-show) is kept.
"""

from __future__ import annotations

from enum import StrEnum


class TalentStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    INACTIVE = "inactive"
    REMOVED = "removed"


class TalentCategory(StrEnum):
    ENFORCEMENT = "enforcement"
    ENTERPRISE_IP_MANAGEMENT = "enterprise_ip_management"
    PATENT_AGENCY = "patent_agency"
    INFORMATION_RETRIEVAL_ANALYSIS = "information_retrieval_analysis"
    IP_SERVICES = "ip_services"


def may_take_part(status: str | None) -> bool:
    """May a talent with this projected status (None: unknown to training) enrol, attend, be assessed?"""
    return status == TalentStatus.ACTIVE


def cancels_open_enrolments(status: str) -> bool:
    """Does reaching this status cancel the talent's open enrolments (see the policy above)?"""
    return status == TalentStatus.REMOVED
