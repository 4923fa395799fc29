"""The idempotent consumer's dispatcher: every record ends applied, duplicate, ignored or dead-lettered.

Pure logic: the handlers here are plain functions that ignore the database (passed as None), and the
dead-letter topic is an in-memory sink.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

import pytest
from prometheus_client import CollectorRegistry
from pymongo.errors import AutoReconnect
from servicekit.consumer import (
    DLQ_PREFIX,
    DeadLetterRefused,
    DeadLetterSink,
    Dispatcher,
    EventHandlers,
    Handler,
    Record,
    RetryPolicy,
    origin_of,
)
from servicekit.correlation import causation_id, correlation_id
from servicekit.events.envelope import EVENT_TYPE_PREFIX, CloudEvent, ConsumedPayload
from servicekit.metrics import kit_metrics
from servicekit.mongo import Database

METRICS_REGISTRY = CollectorRegistry()
METRICS = kit_metrics("unittest", registry=METRICS_REGISTRY)
TOPIC = "unittest.events"
GROUP = "unittest-worker"
DLQ = f"{GROUP}.dlq"
FAST = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.002)
ORIGINAL_HEADERS = [("content-type", b"application/cloudevents+json"), ("traceparent", b"00-abc-def-01")]


class ThingHappened(ConsumedPayload):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.unittest.thing.happened.v1"

    thing_id: str
    count: int


class MemoryDeadLetters:
    """The dead-letter topic, in memory."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = []

    async def send(self, topic: str, key: bytes | None, value: bytes,
                   headers: Sequence[tuple[str, bytes]] = ()) -> None:
        self.sent.append((topic, key, value, list(headers)))


class Calls:
    """A handler stand-in: records what it was given, then returns or raises what it is told to."""

    def __init__(self, *outcomes: bool | BaseException) -> None:
        self.outcomes = list(outcomes)
        self.seen: list[tuple[CloudEvent, Any, str | None, str | None]] = []

    async def __call__(self, db: Database, event: CloudEvent, payload: Any) -> bool:
        self.seen.append((event, payload, correlation_id.get(), causation_id.get()))
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def _dispatcher(handler: Handler, sink: DeadLetterSink | None) -> Dispatcher:
    handlers = EventHandlers()
    handlers.on(TOPIC, ThingHappened)(handler)
    return Dispatcher(cast(Any, None), handlers, METRICS, sink, DLQ, GROUP, FAST)


def _event(data: dict[str, Any] | None = None, event_type: str = ThingHappened.event_type) -> CloudEvent:
    return CloudEvent(id=str(uuid.uuid4()), source="/ipo/unittest", type=event_type, subject="thing-1",
                      time=datetime.now(UTC), correlationid="corr-1", causationid="cause-0",
                      data={"thing_id": "thing-1", "count": 3} if data is None else data)


def _record(value: bytes | None) -> Record:
    return Record(TOPIC, 2, 41, b"thing-1", value, ORIGINAL_HEADERS)


def _sample(name: str, **labels: str) -> float:
    return METRICS_REGISTRY.get_sample_value(name, labels) or 0.0


def _assert_dead_letter(sink: MemoryDeadLetters, record: Record, error_type: str, attempts: int) -> dict[str, str]:
    assert len(sink.sent) == 1
    topic, key, value, headers = sink.sent[0]
    assert topic == DLQ
    assert key == record.key
    assert value == (record.value or b"")
    assert headers[: len(ORIGINAL_HEADERS)] == ORIGINAL_HEADERS  # the original headers, first and unchanged
    dlq = {k: v.decode() for k, v in headers[len(ORIGINAL_HEADERS):]}
    assert all(k.startswith(DLQ_PREFIX) for k in dlq)
    assert dlq[f"{DLQ_PREFIX}original-topic"] == TOPIC
    assert dlq[f"{DLQ_PREFIX}original-partition"] == "2"
    assert dlq[f"{DLQ_PREFIX}original-offset"] == "41"
    assert dlq[f"{DLQ_PREFIX}consumer-group"] == GROUP
    assert dlq[f"{DLQ_PREFIX}error-type"] == error_type
    assert dlq[f"{DLQ_PREFIX}error"]
    assert dlq[f"{DLQ_PREFIX}attempts"] == str(attempts)
    assert datetime.fromisoformat(dlq[f"{DLQ_PREFIX}failed-at"]).tzinfo is not None
    assert len(dlq) == 8
    origin = origin_of(headers)
    assert origin is not None
    assert (origin.topic, origin.partition, origin.offset) == (TOPIC, 2, 41)
    return dlq


async def test_applied() -> None:
    handler, sink = Calls(True), MemoryDeadLetters()
    event = _event()
    before = _sample("unittest_events_consumed_total", type=event.type, outcome="applied")

    assert await _dispatcher(handler, sink).process(_record(event.to_record_value())) == "applied"

    assert sink.sent == []
    [(seen, payload, cid, caus)] = handler.seen
    assert seen == event
    assert payload == ThingHappened(thing_id="thing-1", count=3)
    # While handling, the work belongs to the event's correlation and is caused by the event itself.
    assert (cid, caus) == ("corr-1", event.id)
    assert (correlation_id.get(), causation_id.get()) == (None, None)
    assert _sample("unittest_events_consumed_total", type=event.type, outcome="applied") == before + 1
    assert _sample("unittest_consumer_last_processed_timestamp_seconds", topic=TOPIC) > 0


async def test_duplicate_when_the_handler_finds_it_already_applied() -> None:
    handler, sink = Calls(False), MemoryDeadLetters()
    event = _event()
    before = _sample("unittest_events_duplicate_total", type=event.type)

    assert await _dispatcher(handler, sink).process(_record(event.to_record_value())) == "duplicate"

    assert len(handler.seen) == 1
    assert sink.sent == []
    assert _sample("unittest_events_duplicate_total", type=event.type) == before + 1


async def test_unknown_type_is_ignored_and_counted() -> None:
    handler, sink = Calls(True), MemoryDeadLetters()
    other = f"{EVENT_TYPE_PREFIX}.unittest.other.happened.v1"
    before = _sample("unittest_events_consumed_total", type=other, outcome="ignored")

    assert await _dispatcher(handler, sink).process(_record(_event(event_type=other).to_record_value())) == "ignored"

    assert handler.seen == []
    assert sink.sent == []
    assert _sample("unittest_events_consumed_total", type=other, outcome="ignored") == before + 1


@pytest.mark.parametrize("value", [b"{not json", None, b'{"specversion": "1.0"}'])
async def test_malformed_record_is_dead_lettered_at_once(value: bytes | None) -> None:
    handler, sink = Calls(True), MemoryDeadLetters()
    before = _sample("unittest_events_dead_lettered_total", type="malformed")
    record = _record(value)

    assert await _dispatcher(handler, sink).process(record) == "dead-lettered"

    assert handler.seen == []
    _assert_dead_letter(sink, record, "MalformedEvent", attempts=0)
    assert _sample("unittest_events_dead_lettered_total", type="malformed") == before + 1


async def test_payload_that_fails_validation_is_dead_lettered_without_retries() -> None:
    handler, sink = Calls(True), MemoryDeadLetters()
    event = _event({"thing_id": "thing-1", "count": "three"})
    record = _record(event.to_record_value())

    assert await _dispatcher(handler, sink).process(record) == "dead-lettered"

    assert handler.seen == []
    dlq = _assert_dead_letter(sink, record, "ValidationError", attempts=0)
    assert "count" in dlq[f"{DLQ_PREFIX}error"]


async def test_failing_handler_is_retried_then_dead_lettered() -> None:
    handler, sink = Calls(ValueError("projection rule broken")), MemoryDeadLetters()
    event = _event()
    record = _record(event.to_record_value())
    failed_before = _sample("unittest_events_failed_total", type=event.type)
    dead_before = _sample("unittest_events_dead_lettered_total", type=event.type)

    assert await _dispatcher(handler, sink).process(record) == "dead-lettered"

    assert len(handler.seen) == FAST.max_attempts
    dlq = _assert_dead_letter(sink, record, "ValueError", attempts=FAST.max_attempts)
    assert dlq[f"{DLQ_PREFIX}error"] == "projection rule broken"
    assert _sample("unittest_events_failed_total", type=event.type) == failed_before + FAST.max_attempts
    assert _sample("unittest_events_dead_lettered_total", type=event.type) == dead_before + 1
    assert (correlation_id.get(), causation_id.get()) == (None, None)


async def test_handler_that_recovers_before_the_last_attempt_is_applied() -> None:
    handler, sink = Calls(ValueError("flaky"), True), MemoryDeadLetters()
    assert await _dispatcher(handler, sink).process(_record(_event().to_record_value())) == "applied"
    assert len(handler.seen) == 2
    assert sink.sent == []


async def test_store_outage_is_waited_out_not_dead_lettered() -> None:
    handler = Calls(AutoReconnect("store down"), AutoReconnect("store still down"), True)
    sink = MemoryDeadLetters()
    event = _event()
    failed_before = _sample("unittest_events_failed_total", type=event.type)

    assert await _dispatcher(handler, sink).process(_record(event.to_record_value())) == "applied"

    assert len(handler.seen) == 3
    assert sink.sent == []
    assert _sample("unittest_events_failed_total", type=event.type) == failed_before + 2


async def test_store_outage_beyond_max_attempts_is_still_not_dead_lettered() -> None:
    outages: list[bool | BaseException] = [AutoReconnect("down")] * (FAST.max_attempts + 2)
    handler, sink = Calls(*outages, True), MemoryDeadLetters()
    assert await _dispatcher(handler, sink).process(_record(_event().to_record_value())) == "applied"
    assert len(handler.seen) == FAST.max_attempts + 3
    assert sink.sent == []


async def test_store_outage_while_stopping_is_raised_so_the_record_is_not_committed() -> None:
    handler, sink = Calls(AutoReconnect("down")), MemoryDeadLetters()
    dispatcher = _dispatcher(handler, sink)
    dispatcher.stopping.set()
    with pytest.raises(AutoReconnect):
        await dispatcher.process(_record(_event().to_record_value()))
    assert sink.sent == []


async def test_in_redrive_mode_a_failure_is_refused_not_dead_lettered_again() -> None:
    handler = Calls(ValueError("still broken"))
    with pytest.raises(DeadLetterRefused, match="still broken"):
        await _dispatcher(handler, None).process(_record(_event().to_record_value()))
    assert len(handler.seen) == FAST.max_attempts


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=6, initial_backoff=0.2, max_backoff=1.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.2, 0.4, 0.8, 1.0, 1.0]


def test_origin_of_headers_without_dead_letter_headers_is_none() -> None:
    assert origin_of(ORIGINAL_HEADERS) is None
