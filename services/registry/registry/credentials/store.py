"""The certificate index: certificate number -> whose it is, so a public check is one read by `_id`
(FerretDB indexes nothing else). The truth stays with the talent (certifications) and the credit
ledger (training completions); the public check confirms the number there before calling it valid,
so an index entry left by a half-finished write can never vouch for anything.
"""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.mongo import Collection, Document

COLLECTION = "certificates"

TRAINING_COMPLETION = "training_completion"
CERTIFICATION = "certification"


class CertificateNumberClash(Exception):
    """The number is already indexed for something else: never overwrite, surface it."""


async def index(collection: Collection, certificate_number: str, kind: str, talent_id: str,
                source_id: str, **details: Any) -> None:
    """Index a certificate once; indexing the same certificate again is harmless."""
    doc = {"_id": certificate_number, "kind": kind, "talent_id": talent_id, "source_id": source_id, **details}
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        existing = await collection.find_one({"_id": certificate_number})
        if existing is None or (existing["kind"], existing["talent_id"], existing["source_id"]) != (
                kind, talent_id, source_id):
            raise CertificateNumberClash(f"certificate number {certificate_number} is already indexed "
                                         "for another certificate") from None


async def get(collection: Collection, certificate_number: str) -> Document | None:
    return await collection.find_one({"_id": certificate_number})
