"""What the indexer takes from its wake-ups: the listings to file, and the documents it need not read
because the request that wrote them handed them over (indexer.request_filing)."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import patch

import pytest
from trading.listings import indexer


@pytest.fixture(autouse=True)
def fresh_wakeups() -> Iterator[None]:
    with patch.object(indexer, "_woken", {}), patch.object(indexer, "_as_written", {}), \
            patch.object(indexer, "_created", set()), patch.object(indexer, "request_run", lambda task: None):
        yield


def test_a_listing_written_here_is_filed_from_the_copy_it_was_written_as() -> None:
    indexer.request_filing({"_id": "lst-a", "version": 2, "status": "published"})
    indexer.request_indexing("lst-b")
    indexer.request_filing({"_id": "lst-c", "version": 1, "status": "draft"}, created=True)
    woken, known, created = indexer._take_woken(10)
    assert list(woken) == ["lst-a", "lst-b", "lst-c"]
    assert set(known) == {"lst-a", "lst-c"}, "lst-b is read"
    assert created == {"lst-c"}, "no filing document is looked for a listing just inserted"
    assert indexer._take_woken(10) == ({}, {}, set()), "taken once"


def test_an_older_copy_never_replaces_a_newer_one() -> None:
    indexer.request_filing({"_id": "lst-a", "version": 3})
    indexer.request_filing({"_id": "lst-a", "version": 2})
    assert indexer._take_woken(10)[1]["lst-a"]["version"] == 3


def test_a_wake_up_without_the_document_makes_the_run_read_it() -> None:
    # A change elsewhere in this process (a negotiation moving the listing) wakes without the document:
    # the copy from an earlier request is older than the store now.
    indexer.request_filing({"_id": "lst-a", "version": 2})
    indexer.request_indexing("lst-a")
    woken, known, _created = indexer._take_woken(10)
    assert list(woken) == ["lst-a"] and known == {}
