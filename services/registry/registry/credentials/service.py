"""The public credential check.

A credential is valid while it is on record and its holder is active: a suspended, inactive or
removed practitioner's registration and certificates check as not valid, with the status saying why.
A certificate number is looked up in the certificate index (a read by `_id`) and then confirmed where
the truth is: the talent's certifications, or the credit ledger for a training completion.
"""

from __future__ import annotations

from decimal import Decimal

from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from registry.credentials import store
from registry.credentials.models import CertificateCheck, HolderRead, TalentCheck
from registry.credits import service as credits
from registry.talents import service as talents
from registry.talents.domain import TalentStatus
from registry.talents.models import public_view


def _unknown(number: str) -> ProblemError:
    return ProblemError(404, "Not found", f"No credential {number} is on record.", kind="not-found")


async def check_registration(ctx: ServiceContext, registration_number: str) -> TalentCheck:
    doc = await talents.find_any(ctx, registration_number.strip().upper())
    return TalentCheck(valid=doc["status"] == TalentStatus.ACTIVE.value, talent=public_view(doc))


async def check_certificate(ctx: ServiceContext, certificate_number: str) -> CertificateCheck:
    indexed = await store.get(ctx.db[store.COLLECTION], certificate_number.strip())
    if indexed is None:
        raise _unknown(certificate_number)
    try:
        talent = await talents.find_any(ctx, indexed["talent_id"])
    except ProblemError:
        raise _unknown(certificate_number) from None
    holder = HolderRead(registration_number=talent["registration_number"], name=talent["name"],
                        status=talent["status"])
    active = talent["status"] == TalentStatus.ACTIVE.value
    number = indexed["_id"]
    if indexed["kind"] == store.CERTIFICATION:
        held = next((c for c in talent.get("certifications", []) if c["certificate_number"] == number), None)
        if held is None:  # the index entry of a grant that never completed vouches for nothing
            raise _unknown(certificate_number)
        return CertificateCheck(certificate_number=number, kind=indexed["kind"], valid=active, holder=holder,
                                level=held["level"], category=held["category"], granted_at=held["granted_at"])
    entry = next((e for e in await credits.entries(ctx, talent["_id"]) if e["certificate_number"] == number), None)
    if entry is None:  # indexed by a worker that stopped before crediting: redelivery completes it
        raise _unknown(certificate_number)
    return CertificateCheck(certificate_number=number, kind=indexed["kind"], valid=active, holder=holder,
                            course_id=entry["course_id"], course_title=entry["course_title"],
                            credit_hours=Decimal(entry["credit_hours"]), completed_at=entry["completed_at"])
