"""The CloudEvents envelope: attributes from the work in progress, a lossless record value, and a
clear MalformedEvent for anything that is not a structured-mode event."""

from __future__ import annotations

import contextvars
import json
import uuid
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from servicekit.correlation import causation_id, correlation_id
from servicekit.events.envelope import (
    CONTENT_TYPE,
    EVENT_TYPE_PREFIX,
    CloudEvent,
    EventPayload,
    MalformedEvent,
    describe,
    record_headers,
)


class ThingHappened(EventPayload):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.unittest.thing.happened.v1"

    thing_id: str
    count: int
    at: datetime


def _payload() -> ThingHappened:
    return ThingHappened(thing_id="thing-1", count=3, at=datetime(2027, 4, 26, 9, 30, tzinfo=UTC))


def test_new_takes_correlation_and_causation_from_the_context() -> None:
    def work() -> CloudEvent:
        correlation_id.set("corr-42")
        causation_id.set("cause-7")
        return CloudEvent.new("/ipo/unittest", "thing-1", _payload())

    event = contextvars.Context().run(work)
    assert event.correlationid == "corr-42"
    assert event.causationid == "cause-7"
    assert event.type == ThingHappened.event_type
    assert event.source == "/ipo/unittest"
    assert event.subject == "thing-1"
    assert event.specversion == "1.0"
    assert uuid.UUID(event.id).version == 4
    assert event.time.tzinfo is not None
    assert event.time.utcoffset() == UTC.utcoffset(None)
    assert event.data == {"thing_id": "thing-1", "count": 3, "at": "2027-04-26T09:30:00Z"}


def test_new_without_a_correlation_id_starts_one_and_leaves_the_context_alone() -> None:
    """Outside a request or an event there is no user action to follow: each event starts its own
    correlation, and nothing is stored that would tie later, unrelated work to it."""

    def work() -> tuple[CloudEvent, CloudEvent, str | None]:
        first = CloudEvent.new("/ipo/unittest", "thing-1", _payload())
        second = CloudEvent.new("/ipo/unittest", "thing-2", _payload())
        return first, second, correlation_id.get()

    first, second, in_context = contextvars.Context().run(work)
    assert first.causationid is None
    uuid.UUID(first.correlationid)
    uuid.UUID(second.correlationid)
    assert first.correlationid != second.correlationid
    assert in_context is None
    assert first.id != second.id


def test_record_value_round_trip() -> None:
    event = contextvars.Context().run(CloudEvent.new, "/ipo/unittest", "thing-1", _payload())
    value = event.to_record_value()
    assert isinstance(value, bytes)
    as_json = json.loads(value)
    assert "causationid" not in as_json  # None attributes are left out, as CloudEvents expects
    assert as_json["type"] == ThingHappened.event_type
    back = CloudEvent.from_record_value(value)
    assert back == event
    assert ThingHappened.model_validate(back.data) == _payload()


def test_record_headers_announce_structured_mode() -> None:
    assert record_headers() == [("content-type", CONTENT_TYPE.encode())]
    assert CONTENT_TYPE == "application/cloudevents+json"


def _valid_json() -> dict[str, object]:
    event = contextvars.Context().run(CloudEvent.new, "/ipo/unittest", "t", _payload())
    loaded: dict[str, object] = json.loads(event.to_record_value())
    return loaded


@pytest.mark.parametrize(
    "value",
    [
        b"not json at all",
        b"",
        b"[1, 2, 3]",
        json.dumps({k: v for k, v in _valid_json().items() if k != "type"}).encode(),
        json.dumps({**_valid_json(), "specversion": "0.3"}).encode(),
        json.dumps({**_valid_json(), "time": "2027-04-26T09:30:00"}).encode(),  # no time zone
        json.dumps({**_valid_json(), "data": "a string"}).encode(),
        json.dumps({**_valid_json(), "unknown": 1}).encode(),
    ],
    ids=["not-json", "empty", "array", "no-type", "old-spec", "naive-time", "data-not-object", "unknown-attr"],
)
def test_malformed_values_raise_malformed_event(value: bytes) -> None:
    with pytest.raises(MalformedEvent, match=r"not a CloudEvents 1\.0 structured event"):
        CloudEvent.from_record_value(value)


def test_a_record_without_value_is_malformed() -> None:
    with pytest.raises(MalformedEvent, match="record has no value"):
        CloudEvent.from_record_value(None)


def test_malformed_event_is_a_value_error_so_it_is_never_retried_as_an_outage() -> None:
    assert issubclass(MalformedEvent, ValueError)


def test_describe_is_short_and_safe() -> None:
    assert describe(None) == "<none>"
    assert describe(b'{"a": 1}') == '{"a": 1}'
    assert describe(b"\xff\xfe junk") == repr(b"\xff\xfe junk")
    assert len(describe(json.dumps({"x": "y" * 1000}).encode())) == 200
