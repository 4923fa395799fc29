"""Store access for patents: one document per patent, `_id` = the canonical 13-character application
number (patents/identifiers.py), so every rule that needs "the patent" reads it by `_id`:

    {_id, application_number, patent_kind,
     claims: {<organisation id>: {owners, evidence_kind, evidence_reference, evidence_dated, status,
                                  reason, claimed_at, decided_at}},
     owner_organisation_id,            # the verified owner (None until a claim is verified)
     open_listing_id,                  # the one draft, published or negotiating listing (a pointer:
                                       # it is free again once that listing is closed or withdrawn)
     open_licence: {listing_id, terms, upfront_fee_fen, royalty_rate_percent} | None,
     term_extensions: [{days, legal_basis, reference, recorded_on, recorded_by}],
     version, outbox...}

The licences, transfers and pledges recorded on the patent stay in its deal register
(licences/register.py, the same `_id`), where the exclusivity and pledge rules check and add them in
one write; this document is about ownership, the open listing and the term.

The claim queue is a small marker collection (`_id` = application number) holding only the patents
with claims awaiting an officer, so the officer's queue reads it whole at the cost of what is
pending, never the catalogue (store_scans.py, MARKERS).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document

from trading.patents.identifiers import kind_of_application

COLLECTION = "patents"
QUEUE = "patent_claim_queue"
AGGREGATE = Aggregate(COLLECTION)


async def get(db: Database, application_number: str) -> Document | None:
    return await aggregates.read(db, AGGREGATE, application_number)


@asynccontextmanager
async def changing(db: Database, application_number: str) -> AsyncIterator[aggregates.Change]:
    """A unit of work on the patent's document (None when nobody has claimed or listed it yet)."""
    async with aggregates.change(db, AGGREGATE, application_number) as unit:
        yield unit


def first_fields(application_number: str) -> dict[str, Any]:
    """What a patent document is created with (by the first claim or listing; an upsert's $setOnInsert)."""
    return {"application_number": application_number, "patent_kind": kind_of_application(application_number).value,
            "claims": {}, "owner_organisation_id": None, "open_listing_id": None, "open_licence": None,
            "term_extensions": []}


def upsert(application_number: str, changes: dict[str, Any], existing: Document | None) -> dict[str, Any]:
    """The update that sets `changes`, creating the document with its first fields if it is new."""
    if existing is not None:
        return {"$set": changes}
    # A new document: the dotted paths (`claims.<org>`) go inside the first fields, since setting a
    # path and its parent in one update is refused.
    document = first_fields(application_number)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = document
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return {"$set": document}


async def write(unit: aggregates.Change, changes: dict[str, Any], events: list[Any] | None = None) -> None:
    await unit.write(upsert(str(unit.doc_id), changes, unit.document), events or [], upsert=unit.document is None)


async def queue_put(db: Database, application_number: str, entry: Document) -> None:
    await db[QUEUE].update_one({"_id": application_number}, {"$set": entry}, upsert=True)


async def queue_drop(db: Database, application_number: str) -> None:
    await db[QUEUE].delete_one({"_id": application_number})


async def queue(db: Database, limit: int = 500) -> list[Document]:
    return [d async for d in db[QUEUE].find({}).limit(limit)]
