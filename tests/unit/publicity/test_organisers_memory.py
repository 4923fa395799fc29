"""The scan path's memory of who organises an event: scans that miss together share one read of the event
document (which holds every registration's entry), a failed read is not remembered, and the read is not
cancelled when the first caller gives up. A stand-in for the collection counts the reads: this is the
cache's own logic, not the store's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from publicity.public_events import store


class EventsCollection:
    def __init__(self, organisers: list[str] | None, *, fail_first: bool = False) -> None:
        self.organisers = organisers
        self.reads = 0
        self.fail_first = fail_first
        self.release = asyncio.Event()

    async def find_one(self, query: dict[str, Any], projection: dict[str, Any]) -> dict[str, Any] | None:
        self.reads += 1
        await self.release.wait()
        if self.fail_first and self.reads == 1:
            raise ConnectionError("store went away")
        return None if self.organisers is None else {"_id": query["_id"], "organisers": self.organisers}


class Db:
    def __init__(self, events: EventsCollection) -> None:
        self.events = events

    def __getitem__(self, name: str) -> EventsCollection:
        assert name == store.COLLECTION
        return self.events


@pytest.fixture(autouse=True)
def _forget() -> None:
    store._ORGANISERS.clear()
    store._LOADING.clear()


async def test_scans_that_miss_together_share_one_read() -> None:
    events = EventsCollection(["officer-a", "officer-b"])
    db: Any = Db(events)
    waiting = [asyncio.create_task(store.organisers(db, "EV-1")) for _ in range(10)]
    await asyncio.sleep(0)
    events.release.set()
    answers = await asyncio.gather(*waiting)
    assert events.reads == 1
    assert all(a == frozenset({"officer-a", "officer-b"}) for a in answers)
    assert await store.organisers(db, "EV-1") == frozenset({"officer-a", "officer-b"})
    assert events.reads == 1  # remembered
    assert not store._LOADING


async def test_a_failed_read_reaches_every_waiter_and_is_not_remembered() -> None:
    events = EventsCollection(["officer-a"], fail_first=True)
    db: Any = Db(events)
    waiting = [asyncio.create_task(store.organisers(db, "EV-2")) for _ in range(3)]
    await asyncio.sleep(0)
    events.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert events.reads == 1
    assert await store.organisers(db, "EV-2") == frozenset({"officer-a"})
    assert events.reads == 2


async def test_an_unknown_event_is_none_and_a_caller_giving_up_leaves_the_read_to_the_others() -> None:
    events = EventsCollection(None)
    db: Any = Db(events)
    first = asyncio.create_task(store.organisers(db, "EV-3"))
    second = asyncio.create_task(store.organisers(db, "EV-3"))
    await asyncio.sleep(0)
    first.cancel()
    events.release.set()
    assert await second is None
    assert first.cancelled()
    assert events.reads == 1
