"""The JSON Schema of each published event payload, as it travels on the wire."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from contracts.discovery import PublishedEvent

JsonObject = dict[str, Any]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def event_schema(event: PublishedEvent) -> JsonObject:
    """The JSON Schema of an event's `data`, as it travels: serialisation mode, because consumers see
    what `model_dump(mode="json")` produced. `$id` is the event type, so a schema names its event."""
    schema = event.payload.model_json_schema(mode="serialization")
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = event.event_type
    schema["title"] = event.payload.__name__
    return schema


def render(document: Mapping[str, Any]) -> str:
    """Pretty, sorted, with a trailing newline: stable output keeps diffs to real changes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

