"""A patent as trading knows it: who owns it (claimed, then verified by an IPO officer) and how long it
lasts (derived from the law). Pure rules, no I/O.

Ownership. The national office's register is the truth and the platform cannot query it. So an
organisation *claims* a patent, naming the owners as the office records them and its evidence (the
certificate number, or the reference of a register extract, with its date), and an IPO officer
verifies or rejects the claim with a reason. Until a claim is verified nobody may publish a listing
of the patent or sign anything on it. Once verified:

- another organisation's claim is refused (409, "registered to another owner", nothing more: who
  claimed what with which evidence is private to the claimant and the office);
- two or more unverified claims on one patent are *contested*: each claimant is told, and the
  claims wait in the officer's queue; verifying one rejects the others;
- a registered transfer moves the verified owner to the assignee (the old owner's agent goes too).

Term (Patent Law art. 42, as amended in 2020, in force 2021-06-01): invention 20 years, utility model
10 years, design 10 years for applications filed before 2021-06-01 and 15 years from that day, all
counted from the filing date; plus any extension an officer records with its legal basis (art. 42(2):
unreasonable delay in granting an invention; art. 42(3): new-drug marketing approval, at most 5
years). We take the last day in force to be the day before the Nth anniversary of filing (a term of
N years counted from that date; a 29 February filing's anniversary in a common year is 1 March).

The filing year is the first four digits of the application number, so a filing date must agree with
it. PCT national-phase numbers (type digits 8 and 9) are the exception: their digits give the year of
entry into the national phase, while the term runs from the international filing date, up to 31
months earlier; their filing date may lie up to three years before the number's year.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from trading.patents.identifiers import PatentKind, filing_year

DESIGN_TERM_CHANGE = date(2021, 6, 1)
MAX_NEW_DRUG_EXTENSION_DAYS = 5 * 366
PCT_TYPE_DIGITS = frozenset({"8", "9"})


class ClaimStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class EvidenceKind(StrEnum):
    CERTIFICATE = "certificate"          # the patent certificate's number
    REGISTER_EXTRACT = "register_extract"  # a certified extract of the patent register (专利登记簿副本)


class ExtensionBasis(StrEnum):
    EXAMINATION_DELAY = "patent_law_art_42_2"  # unreasonable delay in granting an invention patent
    NEW_DRUG = "patent_law_art_42_3"           # time lost to a new drug's marketing approval


class PatentRuleError(ValueError):
    """A rule refused the request; `kind` names it for the problem answer, `field` the body field."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.field = field


def term_years(kind: PatentKind, filed_on: date) -> int:
    if kind is PatentKind.INVENTION:
        return 20
    if kind is PatentKind.UTILITY_MODEL:
        return 10
    return 10 if filed_on < DESIGN_TERM_CHANGE else 15


def anniversary(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return date(day.year + years, 3, 1)


def computed_expiry(kind: PatentKind, filed_on: date, extension_days: int = 0) -> date:
    """The last day the patent is in force: the day before the term's anniversary, plus extensions."""
    return anniversary(filed_on, term_years(kind, filed_on)) - timedelta(days=1) + timedelta(days=extension_days)


def check_filing_date(application_number: str, filed_on: date, today: date) -> None:
    year = filing_year(application_number)
    if filed_on > today:
        raise PatentRuleError("filing-date-in-future", f"the filing date {filed_on} is in the future", "filing_date")
    if application_number[4] in PCT_TYPE_DIGITS:
        if not year - 3 <= filed_on.year <= year:
            raise PatentRuleError(
                "filing-date-mismatch",
                f"a PCT national-phase number of {year} has an international filing date from {year - 3} to "
                f"{year}, not {filed_on}", "filing_date")
    elif filed_on.year != year:
        raise PatentRuleError("filing-date-mismatch",
                              f"the application number says it was filed in {year}, but the filing date is "
                              f"{filed_on}", "filing_date")


def check_declared_expiry(declared: date, computed: date) -> None:
    """A patent may lapse early (unpaid annual fees, surrender), never late."""
    if declared > computed:
        raise PatentRuleError("term-too-long",
                              f"the patent's term ends on {computed.isoformat()} at the latest (by its kind and "
                              f"filing date, with any recorded extension); {declared.isoformat()} is later",
                              "expires_on")


def check_extension(kind: PatentKind, basis: ExtensionBasis, days: int) -> None:
    if kind is not PatentKind.INVENTION:
        raise PatentRuleError("extension-not-allowed",
                              f"only an invention patent's term can be extended (art. 42); this is a {kind.value}")
    if basis is ExtensionBasis.NEW_DRUG and days > MAX_NEW_DRUG_EXTENSION_DAYS:
        raise PatentRuleError("extension-too-long", "a new-drug term extension is at most 5 years (art. 42(3))",
                              "days")


def claim_refusal(organisation_id: str, owner: str | None) -> PatentRuleError | None:
    """Why an organisation may not claim the patent now (None: it may)."""
    if owner is None:
        return None
    if owner == organisation_id:
        return PatentRuleError("already-owner", "the patent is already verified to your organisation")
    return PatentRuleError("registered-to-another-owner",
                           "the patent is registered to another owner; if the register has changed, ask the "
                           "IPO to record the transfer")
