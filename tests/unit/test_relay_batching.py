"""The relay's pure bookkeeping: the backlog it keeps as it goes, and how it groups woken documents."""

from __future__ import annotations

import asyncio

from servicekit.relay_batching import Key, OutboxBacklog, take_batch

A: Key = ("organisations", "A")
B: Key = ("organisations", "B")
C: Key = ("talents", "C")


def test_backlog_counts_wake_ups_and_forgets_what_was_published() -> None:
    backlog = OutboxBacklog()
    backlog.added(A, 1, written_at=100.0)
    backlog.added(B, 2, written_at=101.0)
    backlog.added(A, 1, written_at=102.0)
    assert backlog.total() == 4
    assert backlog.oldest() == 100.0
    assert backlog.oldest_age(now=110.0) == 10.0

    mark = backlog.mark()
    backlog.observed(A, 2, oldest=100.0, mark=mark)
    backlog.published(A, 2)
    assert backlog.total() == 2
    assert backlog.waiting(A) == 0
    assert backlog.oldest() == 101.0  # A's events are gone; B's are now the oldest

    backlog.observed(B, 2, oldest=101.0, mark=mark)
    backlog.published(B, 2)
    assert backlog.total() == 0
    assert backlog.oldest() is None
    assert backlog.oldest_age(now=110.0) == 0.0


def test_a_read_replaces_what_wake_ups_claimed() -> None:
    """A wake-up's count may be wrong (a writer that added 3 events said 1; a crashed process's events
    were never announced): the read by `_id` is the truth."""
    backlog = OutboxBacklog()
    backlog.added(A, 1, written_at=100.0)
    backlog.observed(A, 3, oldest=99.0, mark=backlog.mark())
    assert backlog.total() == 3
    assert backlog.oldest() == 99.0

    backlog.observed(B, 5, oldest=50.0, mark=backlog.mark())  # found by the sweep, never announced
    assert backlog.total() == 8
    backlog.observed(B, 0, oldest=None, mark=backlog.mark())  # re-read: someone published them meanwhile
    assert backlog.total() == 3
    assert backlog.waiting(B) == 0


def test_wake_ups_after_a_read_was_issued_are_kept() -> None:
    """Events written while the read was on its way may be missing from what it found: their wake-up
    keeps them counted until a later read, which that wake-up itself queued, settles it."""
    backlog = OutboxBacklog()
    backlog.added(A, 1, written_at=100.0)
    mark = backlog.mark()
    backlog.added(A, 1, written_at=105.0)  # arrives while the read is in flight
    backlog.observed(A, 1, oldest=100.0, mark=mark)
    assert backlog.total() == 2
    backlog.published(A, 1)
    assert backlog.total() == 1
    assert backlog.oldest() == 105.0
    backlog.observed(A, 1, oldest=105.0, mark=backlog.mark())
    backlog.published(A, 1)
    assert backlog.total() == 0


def test_published_for_an_unknown_document_changes_nothing() -> None:
    backlog = OutboxBacklog()
    backlog.added(A, 2, written_at=1.0)
    backlog.published(B, 5)
    assert backlog.total() == 2
    backlog.added(B, 0, written_at=1.0)  # a write without events is no wake-up for the backlog
    assert backlog.waiting(B) == 0


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
