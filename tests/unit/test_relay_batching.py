"""The relay's pure bookkeeping: the events it holds and their states, and how it groups woken documents."""

from __future__ import annotations

import asyncio

from servicekit.relay_batching import Entry, Key, RelayBook, take_batch

A: Key = ("organisations", "A")
B: Key = ("organisations", "B")
C: Key = ("talents", "C")


def entry(event_id: str, at: float) -> Entry:
    return Entry(event_id, f"{int(at * 1e9):020d}-0000", at)


def test_the_backlog_counts_what_is_written_and_not_acknowledged() -> None:
    """The gauge's figure: a write adds its events, a batch taking them keeps them counted until Kafka
    acknowledges them, and only then are they off."""
    book = RelayBook()
    book.add(A, [entry("a1", 100.0)])
    book.add(B, [entry("b1", 101.0), entry("b2", 101.5)])
    book.add(A, [entry("a2", 102.0)])
    assert book.total() == 4
    assert book.oldest() == 100.0
    assert book.oldest_age(now=110.0) == 10.0

    assert [e.event_id for e in book.take(A)] == ["a1", "a2"]
    assert book.total() == 4  # in flight is not sent
    book.acknowledged(A)
    assert book.total() == 2
    assert book.unsent(A) == 0
    assert book.oldest() == 101.0  # A's events are gone; B's are now the oldest
    assert book.clearable(A) == ["a1", "a2"]  # still in the document, to tidy

    book.take(B)
    book.acknowledged(B)
    assert book.total() == 0
    assert book.oldest() is None
    assert book.oldest_age(now=110.0) == 0.0


def test_a_failed_send_puts_events_back_ahead_of_newer_ones() -> None:
    book = RelayBook()
    book.add(A, [entry("a1", 100.0)])
    book.take(A)
    book.add(A, [entry("a2", 101.0)])  # written while a1 was in flight
    book.failed(A)
    assert book.total() == 2
    assert [e.event_id for e in book.take(A)] == ["a1", "a2"]


def test_what_a_read_finds_is_added_once_and_in_write_order() -> None:
    """A sweep or a recovery read may find events the relay already holds (pending, in flight or sent
    and not yet tidied): only the others are new; older ones found go first."""
    book = RelayBook()
    book.add(A, [entry("a2", 102.0)])
    assert book.add(A, [entry("a1", 100.0), entry("a2", 102.0)]) == 1
    assert [e.event_id for e in book.pending[A]] == ["a1", "a2"]
    book.take(A)
    book.acknowledged(A)
    assert book.add(A, [entry("a1", 100.0), entry("a2", 102.0)]) == 0  # sent, not tidied yet
    book.add_sent(B, ["b1"])  # a ledger says it was sent: only to tidy, never counted
    assert book.total() == 0
    assert book.knows(B)
    book.cleared(B, ["b1"])
    book.cleared(A, ["a1", "a2"])
    assert not book.knows(A) and not book.knows(B)


def test_clearing_an_unknown_document_changes_nothing() -> None:
    book = RelayBook()
    book.add(A, [entry("a1", 1.0)])
    book.cleared(B, ["x"])
    book.add(B, [])  # a write without events is no wake-up for the backlog
    assert book.total() == 1
    assert not book.knows(B)


async def test_take_batch_drains_what_is_queued_once_each_in_order() -> None:
    woken: asyncio.Queue[Key] = asyncio.Queue()
    for key in (B, A, B, C, A):
        woken.put_nowait(key)
    batch, deferred = take_batch(A, woken, in_flight=set(), limit=10)
    assert batch == [A, B, C]
    assert deferred == set()
    assert woken.empty()


async def test_take_batch_sets_aside_documents_still_in_flight() -> None:
    woken: asyncio.Queue[Key] = asyncio.Queue()
    for key in (B, C, B):
        woken.put_nowait(key)
    batch, deferred = take_batch(A, woken, in_flight={B}, limit=10)
    assert batch == [A, C]
    assert deferred == {B}


async def test_take_batch_stops_at_the_limit_and_leaves_the_rest_queued() -> None:
    woken: asyncio.Queue[Key] = asyncio.Queue()
    keys: list[Key] = [("organisations", str(i)) for i in range(10)]
    for key in keys[1:]:
        woken.put_nowait(key)
    batch, _ = take_batch(keys[0], woken, in_flight=set(), limit=4)
    assert batch == keys[:4]
    assert woken.qsize() == 6
    assert woken.get_nowait() == keys[4]
