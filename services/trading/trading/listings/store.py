"""Store access for listings: the one place that knows their document shape, and the seam the deals
code uses to read and move listings (see briefs/trading-interface.md).

Every change goes through the kit's unit of work (servicekit.aggregates): one single-document update,
the version bumped, and any event in the same update (the outbox). Each change first marks the listing
for the catalogue indexer (search_store.mark_pending), which files it into the search read model and
the status counts shortly after (indexer.py).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from servicekit import aggregates
from servicekit.mongo import Collection, Database, Document, IndexSpec

from trading.listings import search_store
from trading.listings.aggregate import BY_ORGANISATION, LISTING
from trading.listings.domain import DealType, ListingStatus, ListingTerms
from trading.listings.indexer import request_indexing

COLLECTION = LISTING.collection

INDEXES = (
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
)

HIDDEN = LISTING.hidden()


def _col(db: Database) -> Collection:
    return db[COLLECTION]


def listing_id_for(creation_key: str) -> str:
    """A new listing's `_id`, derived from its creation key (the caller and its Idempotency-Key, or a
    fresh random key without one): a retried POST then collides on the `_id` itself, so the create needs
    no separate claim of the key (a read and a write in `creation_keys` per create) to find what the
    earlier request made."""
    return f"lst-{hashlib.sha256(creation_key.encode()).hexdigest()[:20]}"


async def insert(db: Database, document: Document, *, ahead: aggregates.Ahead = None) -> None:
    """Raises aggregates.DuplicateCreation (with what an earlier request with this key created).
    `ahead`: a write to land before the insert (the patent's pointer at it)."""
    try:
        await aggregates.create(db, LISTING, document, find_earlier=False, ahead=ahead)
    except aggregates.DuplicateCreation:
        earlier = await db[COLLECTION].find_one({"_id": document["_id"]}, {"outbox": 0})
        if earlier is not None and earlier.get("creation_key") == document["creation_key"]:
            raise aggregates.DuplicateCreation(earlier) from None
        # A listing created before ids were derived from creation keys: its key was claimed in the
        # kit's `creation_keys`, which the kit's own create consults.
        await aggregates.create(db, LISTING, document, ahead=ahead)


async def get(db: Database, listing_id: str) -> Document | None:
    return await aggregates.read(db, LISTING, listing_id)


async def get_many(db: Database, listing_ids: Sequence[str]) -> list[Document]:
    """By _id one at a time, concurrently: FerretDB serves only exact `{_id: value}` from its index."""
    found = await asyncio.gather(*(get(db, i) for i in listing_ids))
    return [d for d in found if d is not None]


def change_update(changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The update that applies `changes` to a listing. (Every change may affect search and the status
    counts: its unit of work marks the listing for the indexer first, search_store.mark_pending.)"""
    return {"$set": changes}


async def by_owner(db: Database, organisation_id: str, limit: int = 200) -> list[Document]:
    """An organisation's own listings, as owner or agent (its lookup, then each listing by `_id`)."""
    return await aggregates.listed(db, LISTING, BY_ORGANISATION, organisation_id, limit=limit)


# --- the seam for the deals code --------------------------------------------------------------------


def terms_of(doc: Document) -> ListingTerms:
    return ListingTerms(
        listing_id=doc["_id"],
        application_number=doc["application_number"],
        patent_kind=doc["patent_kind"],
        title=doc["title"],
        owner_organisation_id=doc["owner_organisation_id"],
        co_owner_organisation_ids=tuple(doc.get("co_owner_organisation_ids") or ()),
        agent_organisation_id=doc.get("agent_organisation_id"),
        status=ListingStatus(doc["status"]),
        deal_types=tuple(DealType(d) for d in doc["deal_types"]),
        price_fen=doc.get("price_fen"),
        expires_on=date.fromisoformat(doc["expires_on"]),
        version=int(doc["version"]),
    )


async def listing_terms(db: Database, listing_id: str) -> ListingTerms | None:
    doc = await get(db, listing_id)
    return terms_of(doc) if doc is not None else None


def _marking(db: Database, listing_id: str, version: int) -> Callable[[], Awaitable[None]]:
    """The listing's search marker, written ahead of the change (search_store.mark_pending)."""
    return lambda: search_store.mark_pending(db, listing_id, version)


async def _move(db: Database, listing_id: str, allowed_from: set[ListingStatus], to: ListingStatus) -> bool:
    """Move a listing between statuses if it is in one of `allowed_from`; no-op (False) otherwise."""
    async with aggregates.change(db, LISTING, listing_id) as unit:
        doc = unit.document
        if doc is None or ListingStatus(doc["status"]) not in allowed_from:
            return False
        version = int(doc["version"]) + 1
        await unit.write(change_update({"status": to.value, "updated_at": datetime.now(UTC)}),
                         ahead=_marking(db, listing_id, version))
    request_indexing(listing_id)
    return True


async def mark_under_negotiation(db: Database, listing_id: str) -> None:
    """published -> under_negotiation (it leaves the search); a no-op in any other status."""
    await _move(db, listing_id, {ListingStatus.PUBLISHED}, ListingStatus.UNDER_NEGOTIATION)


async def reopen_after_negotiation(db: Database, listing_id: str) -> None:
    """under_negotiation -> published (back in the search); a no-op otherwise."""
    await _move(db, listing_id, {ListingStatus.UNDER_NEGOTIATION}, ListingStatus.PUBLISHED)


async def close_listing(db: Database, listing_id: str) -> None:
    """A deal concluded: -> closed from published or under_negotiation; a no-op if already closed."""
    await _move(db, listing_id, {ListingStatus.PUBLISHED, ListingStatus.UNDER_NEGOTIATION}, ListingStatus.CLOSED)


async def move_to_owner(db: Database, listing_ids: Sequence[str], new_owner_organisation_id: str) -> int:
    """A registered assignment moved the patent: its listings named here (the patent's open listing
    and the assignment's own, both known by `_id`) get the new owner. The old owner's agent no longer
    acts for it, so the agent is cleared. Closed and withdrawn listings of earlier owners stay theirs
    (their history). Returns how many listings changed."""
    changed = 0
    for listing_id in dict.fromkeys(listing_ids):
        async with aggregates.change(db, LISTING, listing_id) as unit:
            doc = unit.document
            if doc is None or doc["owner_organisation_id"] == new_owner_organisation_id:
                continue
            version = int(doc["version"]) + 1
            await unit.write(change_update({"owner_organisation_id": new_owner_organisation_id,
                                            "agent_organisation_id": None, "updated_at": datetime.now(UTC)}),
                             ahead=_marking(db, listing_id, version))
            changed += 1
            request_indexing(listing_id)
    return changed
