"""The indexer's filing documents against the real FerretDB (search_store.reconcile_batch): a listing
filed for the first time has its filing document inserted (an upsert of a document that is not there
costs FerretDB a look-up first), one filed before has it replaced; and one that is there although the
indexer took it for never filed (another replica filed it meanwhile) ends as the batch filed it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from devstack.layout import Profile
from devstack.stack import Stack
from pymongo import AsyncMongoClient, monitoring
from servicekit.mongo import Document
from trading.listings import search_store
from trading.listings.search import NEGOTIABLE, SearchQuery

from tests.unit.trading_catalogue.fake_postings import fresh_search_state

pytestmark = pytest.mark.stack


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from fresh_search_state(monkeypatch)


class FilingWrites(monitoring.CommandListener):
    """The `_id`s each insert and update command sent to the postings collection carried."""

    def __init__(self) -> None:
        self.inserted: list[str] = []
        self.updated: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command.get("insert") == search_store.POSTINGS:
            self.inserted += [d["_id"] for d in event.command["documents"]]
        elif event.command.get("update") == search_store.POSTINGS:
            self.updated += [u["q"].get("_id") for u in event.command["updates"]]

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def listing(listing_id: str, status: str, version: int) -> Document:
    now = datetime.now(UTC)
    return {"_id": listing_id, "application_number": "2021100000013", "patent_kind": "invention",
            "title": f"filing {listing_id}", "abstract": "", "ipc_codes": [], "locarno_classes": [],
            "owner_organisation_id": "o", "co_owner_organisation_ids": [], "agent_organisation_id": None,
            "industry": "other", "region_code": "210200", "legal_status": "granted", "expires_on": "2040-01-01",
            "deal_types": ["assignment"], "price_fen": 5, "open_licence_terms": None, "status": status,
            "version": version, "created_at": now, "updated_at": now,
            "published_at": now if status == "published" else None}


async def filed_statuses(db: Any, *listing_ids: str) -> dict[str, Any]:
    found = {d["_id"]: d async for d in db[search_store.POSTINGS].find(
        {"_id": {"$in": [search_store.card_id(i) for i in listing_ids]}})}
    return {i: (found[search_store.card_id(i)]["status"], found[search_store.card_id(i)]["seq"])
            for i in listing_ids if search_store.card_id(i) in found}


@pytest.fixture
async def store(infra: Stack, test_profile: Profile) -> AsyncIterator[tuple[Any, FilingWrites]]:
    """A database of its own on the test stack's FerretDB, and what is sent to its postings collection."""
    writes = FilingWrites()
    client: AsyncMongoClient[Document] = AsyncMongoClient(test_profile.mongo_url, socketTimeoutMS=20_000,
                                                          event_listeners=[writes])
    db = client[f"trading_filings_{uuid.uuid4().hex[:8]}"]
    try:
        yield db, writes
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_a_first_filing_is_inserted_and_a_later_one_replaces_it(store: tuple[Any, FilingWrites]) -> None:
    db, writes = store
    one, two = f"lst-{uuid.uuid4().hex[:20]}", f"lst-{uuid.uuid4().hex[:20]}"
    # Created by this process (nothing read), and published at once in the same batch.
    await search_store.reconcile_batch(db, [one, two], known={one: listing(one, "draft", 1),
                                                               two: listing(two, "published", 2)},
                                       created={one, two})
    assert writes.inserted.count(search_store.card_id(one)) == 1
    assert writes.inserted.count(search_store.card_id(two)) == 1
    assert search_store.card_id(one) not in writes.updated
    assert (await filed_statuses(db, one, two))[one] == ("draft", None)
    # The draft published: its filing document is there now, so it is replaced.
    writes.inserted.clear()
    await search_store.reconcile_batch(db, [one], known={one: listing(one, "published", 2)})
    assert search_store.card_id(one) in writes.updated
    assert search_store.card_id(one) not in writes.inserted
    statuses = await filed_statuses(db, one, two)
    assert statuses[one][0] == "published" and statuses[one][1] is not None
    assert await search_store.status_counts(db) == {"draft": 0, "published": 2}
    page, _more = await search_store.search(db, SearchQuery(keywords=("filing",)))
    assert {p.listing_id for p in page} == {one, two}


async def test_a_filing_there_although_taken_for_never_filed_ends_as_the_batch_filed_it(
        store: tuple[Any, FilingWrites]) -> None:
    db, writes = store
    there, new = f"lst-{uuid.uuid4().hex[:20]}", f"lst-{uuid.uuid4().hex[:20]}"
    # Another replica filed `there` as a draft after this batch decided it had never been filed.
    await db[search_store.POSTINGS].insert_one(
        search_store.filing_document(listing(there, "draft", 1), None, [], NEGOTIABLE))
    await search_store.reconcile_batch(db, [there, new], known={there: listing(there, "published", 2),
                                                                 new: listing(new, "published", 2)},
                                       created={there, new})
    assert search_store.card_id(there) in writes.inserted, "sent as an insert first"
    assert search_store.card_id(there) in writes.updated, "then written again as a replace"
    statuses = await filed_statuses(db, there, new)
    assert statuses[there][0] == statuses[new][0] == "published"
    assert statuses[there][1] is not None and statuses[new][1] is not None
    page, _more = await search_store.search(db, SearchQuery(keywords=("filing",)))
    assert {p.listing_id for p in page} == {there, new}
