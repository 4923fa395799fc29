"""The worker's partition lanes: records of different partitions handled side by side, each
partition's in offset order, never more than the limit in hand, and a failure stops its lane.

Pure logic: the items are plain tuples and the handler records what it sees.
"""

from __future__ import annotations

import asyncio

import pytest
from servicekit.consumer import PartitionLanes


class Boom(Exception):
    pass


class Recorder:
    """A handler that notes starts and ends, and waits for a gate per item when one is set."""

    def __init__(self) -> None:
        self.started: list[tuple[str, int]] = []
        self.finished: list[tuple[str, int]] = []
        self.gates: dict[tuple[str, int], asyncio.Event] = {}
        self.fail: set[tuple[str, int]] = set()

    async def handle(self, item: tuple[str, int]) -> None:
        self.started.append(item)
        if item in self.gates:
            await self.gates[item].wait()
        await asyncio.sleep(0)
        if item in self.fail:
            raise Boom(str(item))
        self.finished.append(item)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_lane_handles_its_items_one_at_a_time_in_order() -> None:
    recorder = Recorder()
    lanes = PartitionLanes(recorder.handle, limit=100)
    recorder.gates[("a", 0)] = asyncio.Event()
    for i in range(5):
        await lanes.put("a", ("a", i))
    await settle()
    # The first is held: nothing after it in its lane has started.
    assert recorder.started == [("a", 0)]
    recorder.gates[("a", 0)].set()
    await settle()
    assert recorder.finished == [("a", i) for i in range(5)]
    await lanes.close()


async def test_a_held_lane_does_not_hold_the_others() -> None:
    recorder = Recorder()
    lanes = PartitionLanes(recorder.handle, limit=100)
    recorder.gates[("a", 0)] = asyncio.Event()
    await lanes.put("a", ("a", 0))
    await lanes.put("a", ("a", 1))
    await lanes.put("b", ("b", 0))
    await lanes.put("b", ("b", 1))
    await settle()
    assert recorder.finished == [("b", 0), ("b", 1)]
    recorder.gates[("a", 0)].set()
    await settle()
    assert recorder.finished == [("b", 0), ("b", 1), ("a", 0), ("a", 1)]
    await lanes.close()


async def test_no_more_than_the_limit_is_taken_before_it_is_handled() -> None:
    recorder = Recorder()
    lanes = PartitionLanes(recorder.handle, limit=2)
    gate = asyncio.Event()
    recorder.gates[("a", 0)] = recorder.gates[("b", 0)] = gate
    await lanes.put("a", ("a", 0))
    await lanes.put("b", ("b", 0))
    third = asyncio.create_task(lanes.put("c", ("c", 0)))
    await settle()
    assert not third.done()  # two in hand: the third waits for room
    gate.set()
    await settle()
    assert third.done()
    await settle()
    assert sorted(recorder.finished) == [("a", 0), ("b", 0), ("c", 0)]
    await lanes.close()


async def test_a_failure_stops_its_lane_and_is_raised_to_the_reader() -> None:
    recorder = Recorder()
    lanes = PartitionLanes(recorder.handle, limit=100)
    recorder.fail.add(("a", 1))
    for i in range(3):
        await lanes.put("a", ("a", i))
    await settle()
    # The item after the failed one is never handled (so never acknowledged: Kafka redelivers it).
    assert recorder.finished == [("a", 0)]
    assert ("a", 2) not in recorder.started
    with pytest.raises(Boom):
        await lanes.put("b", ("b", 0))
    await lanes.close()


async def test_close_cancels_what_is_in_hand() -> None:
    recorder = Recorder()
    lanes = PartitionLanes(recorder.handle, limit=100)
    recorder.gates[("a", 0)] = asyncio.Event()
    await lanes.put("a", ("a", 0))
    await settle()
    await lanes.close()
    recorder.gates[("a", 0)].set()
    await settle()
    assert recorder.finished == []
