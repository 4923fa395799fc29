"""The services' published contracts, generated from code and kept in the repo, and checks on them.

Why: the services talk only through Kafka events and HTTP, so what they publish is a contract other
teams build against. The contract is generated from the code that actually runs (the pydantic event
payloads, the FastAPI apps, the declared topics and handlers) rather than written by hand, so it
cannot drift; it is committed, so a change to it shows up in review; and CI fails when

- a generated file is stale (someone changed a payload but did not regenerate): `check`;
- an event schema changed incompatibly with the committed one (a removed property, a newly required
  one, a changed type, enum values removed): `incompatibilities`, used against `git HEAD`;
- a consumer requires a field its producer does not provide, or reads it with another type:
  `consumer_problems`.

Per service `services/<service>/schemas/` holds:

- `events/<event type>.json`: the JSON Schema of every event payload the service publishes;
- `asyncapi.json`: an AsyncAPI 3.0 document of its topics: the events it publishes (CloudEvents
  structured mode, key = aggregate id), its dead-letter topic with the `dlq-*` headers, and the
  events it receives from other services;
- `openapi.json`: its HTTP API, as its FastAPI app publishes it.

Run from the repository root:

    python -m servicekit.contracts write      # regenerate the files
    python -m servicekit.contracts check      # fail (exit 1) with a diff summary when any is stale
    python -m servicekit.contracts compat     # fail when an event schema changed incompatibly vs HEAD
    python -m servicekit.contracts consumers  # fail when a consumer needs what its producer lacks
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from servicekit.consumer import DLQ_PREFIX, Record, dead_letter_headers
from servicekit.events.envelope import CONTENT_TYPE, EVENT_TYPE_PREFIX, CloudEvent, ConsumedPayload, EventPayload
from servicekit.events.topics import TopicSpec, dead_letter_topic, domain_topic
from servicekit.service import ServiceDefinition
from servicekit.settings import ServiceSettings

JsonObject = dict[str, Any]

SERVICES = ("registry", "trading", "training", "publicity")
ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS_DIR = "schemas"
EVENTS_DIR = "events"

# A published event type: <prefix>.<service>.<aggregate>.<happening>.v<major> (ARCHITECTURE section 3).
_EVENT_TYPE = re.compile(r"^[a-z0-9]+(\.[a-z0-9_]+)+\.v[1-9][0-9]*$")

# What each dead-letter header means, for the people who re-drive or inspect dead letters. Keyed by
# the suffix after `dlq-`; generation fails if servicekit.consumer adds a header not described here.
DLQ_HEADER_DESCRIPTIONS = {
    "original-topic": "Topic the record was consumed from.",
    "original-partition": "Partition the record was consumed from (decimal).",
    "original-offset": "Offset of the record in that partition (decimal).",
    "consumer-group": "Consumer group that failed to process it.",
    "error-type": "Class name of the last error (e.g. MalformedEvent, ValidationError, ValueError).",
    "error": "Message of the last error, at most 2000 characters.",
    "attempts": "Handler attempts made (decimal); 0 when the record was malformed or its payload did not "
                "validate, since retrying cannot fix either.",
    "failed-at": "When it was dead-lettered, RFC 3339 UTC.",
}


class ContractError(Exception):
    """The code cannot be turned into a contract as it stands (a naming or declaration mistake)."""


# --------------------------------------------------------------------------------------------------
# Discovery: what each service publishes and receives, read from its code.


@dataclass(frozen=True)
class PublishedEvent:
    """One event payload class a service publishes."""

    service: str
    event_type: str
    payload: type[EventPayload]

    @property
    def path(self) -> Path:
        """Where its schema lives, relative to the repository root."""
        return Path("services", self.service, SCHEMAS_DIR, EVENTS_DIR, f"{self.event_type}.json")


def find_root(start: Path | None = None) -> Path:
    """The repository root: the nearest directory (from `start`, default the working directory) that
    holds both `services/` and `shared/servicekit/`. Generated files are written relative to it."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "services").is_dir() and (candidate / "shared" / "servicekit").is_dir():
            return candidate
    raise ContractError(f"no repository root (with services/ and shared/servicekit/) at or above {here}")


def load_definition(service: str) -> ServiceDefinition:
    """The module-level ServiceDefinition of a service, e.g. `registry.definition.REGISTRY`."""
    module = importlib.import_module(f"{service}.definition")
    definition = getattr(module, service.upper(), None)
    if not isinstance(definition, ServiceDefinition):
        raise ContractError(f"{service}.definition has no ServiceDefinition named {service.upper()}")
    if definition.name != service:
        raise ContractError(f"{service}.definition.{service.upper()} is named {definition.name!r}")
    return definition


def _raise(name: str) -> None:
    """pkgutil would skip a subpackage that fails to import, and with it its events: fail instead."""
    raise ContractError(f"cannot import {name} while looking for event modules")


def _event_modules(package: ModuleType) -> list[ModuleType]:
    """The package's modules named `events`, and the modules of packages named so: a service's
    integration events live there, by convention, apart from its internal models."""
    modules = []
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.", onerror=_raise):
        if "events" in info.name.split(".")[1:]:
            modules.append(importlib.import_module(info.name))
    return sorted(modules, key=lambda m: m.__name__)


def published_events(service: str) -> list[PublishedEvent]:
    """Every EventPayload subclass defined in the service's `events` modules that names its type.

    Classes without a concrete `event_type` (shared bases such as a snapshot) are skipped; two classes
    with one type, or a type that is not the service's own, are mistakes and raise ContractError.
    """
    package = importlib.import_module(service)
    found: dict[str, PublishedEvent] = {}
    own_prefix = f"{EVENT_TYPE_PREFIX}.{service}."
    for module in _event_modules(package):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not issubclass(cls, EventPayload) or cls is EventPayload:
                continue
            event_type = getattr(cls, "event_type", None)
            if not isinstance(event_type, str):
                continue
            where = f"{cls.__module__}.{cls.__qualname__}"
            if not event_type.startswith(own_prefix) or not _EVENT_TYPE.match(event_type):
                raise ContractError(f"{where}: event type {event_type!r} should look like {own_prefix}<aggregate>"
                                    ".<happening>.v<major>")
            if event_type in found:
                other = found[event_type].payload
                raise ContractError(f"{where} and {other.__module__}.{other.__qualname__} both claim {event_type}")
            found[event_type] = PublishedEvent(service, event_type, cls)
    return [found[t] for t in sorted(found)]


def producer_of(event_type: str) -> str | None:
    """The service whose domain topic carries `event_type`, read from the type's name."""
    rest = event_type.removeprefix(f"{EVENT_TYPE_PREFIX}.")
    if rest == event_type or "." not in rest:
        return None
    return rest.split(".", 1)[0]


def consumer_group(service: str) -> str:
    """The service worker's consumer group, by the same rule as ServiceSettings.consumer_group but
    without reading the environment, so generated files do not depend on who generates them."""
    return ServiceSettings.model_construct(service_name=service).consumer_group


# --------------------------------------------------------------------------------------------------
# Generation.


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


def _message_id(event_type: str) -> str:
    """An AsyncAPI component key (letters, digits, `-`, `_`) for an event type."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", event_type.removeprefix(f"{EVENT_TYPE_PREFIX}."))


def _channel_id(topic: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", topic)


def _first_line(text: str | None) -> str:
    return (inspect.cleandoc(text).split("\n\n", 1)[0].replace("\n", " ") if text else "").strip()


def _lift_defs(schema: JsonObject, components: JsonObject) -> JsonObject:
    """Move a pydantic schema's `$defs` into AsyncAPI components and point its refs there."""
    defs = schema.pop("$defs", {})
    text = json.dumps(schema)
    for name, sub in defs.items():
        components[name] = json.loads(json.dumps(sub).replace('"#/$defs/', '"#/components/schemas/'))
    return dict(json.loads(text.replace('"#/$defs/', '"#/components/schemas/')))


def _kafka_channel_binding(spec: TopicSpec) -> JsonObject:
    config = spec.config()
    return {"kafka": {"topic": spec.name, "partitions": spec.partitions, "bindingVersion": KAFKA_BINDING_VERSION,
                      "topicConfiguration": {"cleanup.policy": [config["cleanup.policy"]],
                                             "retention.ms": spec.retention_ms}}}


def _dead_letter_header_names() -> list[str]:
    """The `dlq-*` header names, taken from servicekit.consumer itself so the document follows it."""
    sample = Record("topic", 0, 0, None, None)
    return [name for name, _ in dead_letter_headers(sample, "group", ValueError("sample"), 0)]


def _event_message(service: str, event_type: str, payload_doc: str | None, title: str, data_ref: JsonObject,
                   *, reader: str | None = None) -> JsonObject:
    description = _first_line(payload_doc) or f"{title}, published by {service}."
    if reader:
        description += f" {reader}"
    return {
        "name": event_type,
        "title": title,
        "summary": f"{event_type}, published by {service} on {domain_topic(service).name}",
        "description": description,
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/StructuredModeHeaders"},
        "payload": {"allOf": [
            {"$ref": "#/components/schemas/CloudEvent"},
            {"type": "object",
             "properties": {"type": {"const": event_type},
                            "subject": {"type": "string", "description": "The aggregate id; also the record key."},
                            "data": data_ref}},
        ]},
        "correlationId": {"$ref": "#/components/correlationIds/correlationid"},
        "bindings": {"kafka": {"key": {"type": "string",
                                       "description": "The aggregate id (the event's `subject`): one aggregate's "
                                                      "events share a partition and so stay in order."},
                               "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _received_message(service: str, event_type: str, payload: type[ConsumedPayload],
                      source: PublishedEvent | None) -> JsonObject:
    """A message another service publishes and this one receives: the producer's schema, with what
    this service reads of it (its ConsumedPayload) in the description."""
    reads = ", ".join(payload.model_fields)
    reader = f"{service} reads: {reads}." if reads else None
    if source is not None:
        data_ref: JsonObject = {"$ref": f"../../{source.service}/{SCHEMAS_DIR}/{EVENTS_DIR}/{event_type}.json"}
        return _event_message(source.service, event_type, source.payload.__doc__, source.payload.__name__,
                              data_ref, reader=reader)
    # Nobody publishes it (consumer_problems reports that): describe the consumer's own view.
    view = {**payload.model_json_schema(), "description": f"No service publishes this type: this is {service}'s view."}
    return _event_message(producer_of(event_type) or "an unknown service", event_type, payload.__doc__,
                          payload.__name__, view, reader=reader)


def asyncapi_document(definition: ServiceDefinition, published: Sequence[PublishedEvent],
                      all_published: Mapping[str, PublishedEvent]) -> JsonObject:
    """The AsyncAPI 3.0 document of one service's topics: what it sends, dead-letters and receives.

    Event payloads are the CloudEvents envelope whose `data` refers to the producer's committed event
    schema file (relative to this document), so each payload is defined in exactly one place.
    """
    service = definition.name
    own = domain_topic(service)
    dlq = dead_letter_topic(consumer_group(service))
    schemas: JsonObject = {}
    envelope = _lift_defs(CloudEvent.model_json_schema(mode="serialization"), schemas)
    envelope["description"] = ("A CloudEvents 1.0 event in the Kafka protocol binding's structured mode: the whole "
                               "event is the JSON record value. `correlationid` and `causationid` follow one user "
                               "action across services; optional attributes are left out when empty.")
    schemas["CloudEvent"] = envelope
    schemas["StructuredModeHeaders"] = {
        "type": "object", "required": ["content-type"],
        "properties": {"content-type": {"type": "string", "const": CONTENT_TYPE,
                                        "description": "CloudEvents structured mode."}},
    }
    header_names = _dead_letter_header_names()
    undocumented = [n for n in header_names if n.removeprefix(DLQ_PREFIX) not in DLQ_HEADER_DESCRIPTIONS]
    if undocumented:
        raise ContractError(f"describe the dead-letter headers {undocumented} in DLQ_HEADER_DESCRIPTIONS")
    schemas["DeadLetterHeaders"] = {
        "type": "object", "required": header_names,
        "description": "The original record's headers, unchanged (normally content-type), followed by these.",
        "properties": {n: {"type": "string", "description": DLQ_HEADER_DESCRIPTIONS[n.removeprefix(DLQ_PREFIX)]}
                       for n in header_names},
        "additionalProperties": {"type": "string"},
    }

    messages: JsonObject = {}
    channels: JsonObject = {}
    operations: JsonObject = {}

    own_id = _channel_id(own.name)
    own_messages: JsonObject = {}
    for event in published:
        message_id = _message_id(event.event_type)
        data_ref: JsonObject = {"$ref": f"./{EVENTS_DIR}/{event.event_type}.json"}
        messages[message_id] = _event_message(service, event.event_type, event.payload.__doc__,
                                              event.payload.__name__, data_ref)
        own_messages[message_id] = {"$ref": f"#/components/messages/{message_id}"}
    channels[own_id] = {
        "address": own.name, "title": f"{service} domain events", "messages": own_messages,
        "description": f"Every domain event of {service}, keyed by aggregate id. Written by the outbox relay with "
                       "an idempotent producer (acks=all); a repeat is possible, so consumers are idempotent.",
        "bindings": _kafka_channel_binding(own),
    }
    operations["publish-events"] = {
        "action": "send", "channel": {"$ref": f"#/channels/{own_id}"},
        "summary": f"{service} publishes its domain events.",
        "messages": [{"$ref": f"#/channels/{own_id}/messages/{m}"} for m in own_messages],
    }

    dlq_id = _channel_id(dlq.name)
    messages["dead-letter"] = {
        "name": "dead-letter", "title": "Dead letter",
        "summary": f"A record the {consumer_group(service)} group could not process.",
        "description": "Malformed records and payloads that fail validation are dead-lettered at once; a handler "
                       "error after the configured retries. Re-drive them after a fix with the service's redrive "
                       "command, which applies them through the same handlers in order.",
        "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
        "payload": {"description": "The original record value, byte for byte: normally a CloudEvent this group "
                                   "receives, but possibly not valid JSON at all (which may be why it is here)."},
        "bindings": {"kafka": {"key": {"type": "string", "description": "The original record key, unchanged."},
                               "bindingVersion": KAFKA_BINDING_VERSION}},
    }
    channels[dlq_id] = {
        "address": dlq.name, "title": f"{consumer_group(service)} dead letters",
        "description": f"Dead letters of the {consumer_group(service)} consumer group, kept longer than events so "
                       "an operator has time to re-drive them.",
        "messages": {"dead-letter": {"$ref": "#/components/messages/dead-letter"}},
        "bindings": _kafka_channel_binding(dlq),
    }
    operations["dead-letter"] = {
        "action": "send", "channel": {"$ref": f"#/channels/{dlq_id}"},
        "summary": "The worker dead-letters what it cannot process, with its origin and error in headers.",
        "messages": [{"$ref": f"#/channels/{dlq_id}/messages/dead-letter"}],
    }
    operations["redrive-dead-letters"] = {
        "action": "receive", "channel": {"$ref": f"#/channels/{dlq_id}"},
        "summary": "The redrive command re-applies dead letters after a fix, stopping at the first that still fails.",
        "messages": [{"$ref": f"#/channels/{dlq_id}/messages/dead-letter"}],
        "bindings": {"kafka": {"groupId": {"type": "string", "const": f"{consumer_group(service)}.redrive"},
                               "bindingVersion": KAFKA_BINDING_VERSION}},
    }

    by_topic: dict[str, list[str]] = {}
    for event_type in sorted(definition.handlers.by_type):
        producer = producer_of(event_type)
        topic = domain_topic(producer).name if producer else None
        if topic is None or topic not in definition.handlers.topics:
            raise ContractError(f"{service} handles {event_type} but subscribes to no topic that carries it "
                                f"(subscribed: {definition.handlers.topics})")
        by_topic.setdefault(topic, []).append(event_type)
    for topic in definition.handlers.topics:
        producer = topic.removesuffix(".events")
        channel_id = _channel_id(topic)
        received: list[str] = []
        for event_type in by_topic.get(topic, []):
            message_id = _message_id(event_type)
            received.append(message_id)
            payload = definition.handlers.by_type[event_type].payload
            if message_id not in messages:
                messages[message_id] = _received_message(service, event_type, payload, all_published.get(event_type))
        if channel_id not in channels:
            channels[channel_id] = {
                "address": topic, "title": f"{producer} domain events",
                "description": f"Owned by {producer}; {service} receives the events listed here.",
                "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in received},
                "bindings": _kafka_channel_binding(domain_topic(producer)),
            }
        operations[f"receive-{channel_id}"] = {
            "action": "receive", "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"The {consumer_group(service)} group applies these events to {service}'s projections, "
                       "idempotently; other types on the topic are ignored.",
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in received],
            "bindings": {"kafka": {"groupId": {"type": "string", "const": consumer_group(service)},
                                   "bindingVersion": KAFKA_BINDING_VERSION}},
        }

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": f"{definition.title or service} events", "version": "1.0.0",
                 "description": f"Kafka topics of the {service} service. {definition.description}".strip()},
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "correlationIds": {"correlationid": {
                "location": "$message.payload#/correlationid",
                "description": "The user action this event belongs to, carried across every service.",
            }},
        },
    }


def openapi_document(definition: ServiceDefinition) -> JsonObject:
    """The service's OpenAPI document. Creating the app only builds objects: it connects to nothing
    until its lifespan starts, which `openapi()` does not do."""
    from servicekit.app import create_app  # imported here: the app stack is only needed for this file

    return dict(create_app(definition).openapi())


def generate() -> dict[Path, str]:
    """Every generated file (path relative to the repository root -> content), built in memory."""
    definitions = {service: load_definition(service) for service in SERVICES}
    published = {service: published_events(service) for service in SERVICES}
    all_published = {e.event_type: e for events in published.values() for e in events}
    files: dict[Path, str] = {}
    for service, definition in definitions.items():
        base = Path("services", service, SCHEMAS_DIR)
        for event in published[service]:
            files[event.path] = render(event_schema(event))
        files[base / "asyncapi.json"] = render(asyncapi_document(definition, published[service], all_published))
        files[base / "openapi.json"] = render(openapi_document(definition))
    return files


def _stale_event_schemas(root: Path, files: Mapping[Path, str]) -> list[Path]:
    """Event schema files on disk that the code no longer generates (their event was removed)."""
    found = []
    for service in SERVICES:
        folder = root / "services" / service / SCHEMAS_DIR / EVENTS_DIR
        if folder.is_dir():
            found += [p.relative_to(root) for p in sorted(folder.glob("*.json")) if p.relative_to(root) not in files]
    return found


def write(root: Path) -> list[str]:
    """Write every generated file that differs, remove stale event schemas; returns what changed."""
    files = generate()
    changed = []
    for rel, content in files.items():
        target = root / rel
        if not target.exists() or target.read_text(encoding="utf-8") != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            changed.append(f"wrote {rel}")
    for rel in _stale_event_schemas(root, files):
        (root / rel).unlink()
        changed.append(f"removed {rel} (no longer published)")
    return changed


def check(root: Path, max_diff_lines: int = 40) -> list[str]:
    """Regenerate in memory and compare with the files on disk; one readable entry per stale file."""
    files = generate()
    problems = []
    for rel, content in files.items():
        target = root / rel
        if not target.exists():
            problems.append(f"missing: {rel}")
            continue
        current = target.read_text(encoding="utf-8")
        if current != content:
            diff = list(difflib.unified_diff(current.splitlines(), content.splitlines(), f"{rel} (on disk)",
                                             f"{rel} (generated)", lineterm="", n=2))
            shown = diff[:max_diff_lines]
            if len(diff) > max_diff_lines:
                shown.append(f"... {len(diff) - max_diff_lines} more diff lines")
            problems.append(f"stale: {rel}\n" + "\n".join(f"    {line}" for line in shown))
    problems += [f"not generated any more (its event was removed): {rel}" for rel in _stale_event_schemas(root, files)]
    return problems


# --------------------------------------------------------------------------------------------------
# Comparing schemas. Both checks reason about the same facts of a (sub)schema: which JSON types it
# allows, which enum values, which string formats, which properties (and which are required), and
# what its array items are. Local `$ref`s are followed; `anyOf`/`oneOf` are unions.

_MAX_DEPTH = 24  # recursive models: compare this deep, no deeper


@dataclass(frozen=True)
class _Shape:
    types: frozenset[str] | None  # None: any JSON value
    enum: frozenset[str] | None  # allowed values as canonical JSON; None: not restricted
    formats: frozenset[str]  # formats of the string branches, "" for a string without one
    properties: Mapping[str, JsonObject]
    required: frozenset[str]
    items: JsonObject | None
    closed: bool  # additionalProperties is false
    external_ref: str | None  # a reference to another document, compared by name only


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _resolve(schema: JsonObject, root: JsonObject) -> JsonObject:
    """Follow local `$ref`s (JSON Pointers into `root`), keeping any keywords beside the `$ref`."""
    for _ in range(_MAX_DEPTH):
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        target: Any = root
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise ContractError(f"unresolvable reference {ref}")
            target = target[part]
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings}
    raise ContractError("reference chain too long")


def _shape(schema: JsonObject, root: JsonObject) -> _Shape:
    s = _resolve(schema, root)
    if isinstance(s.get("$ref"), str):
        return _Shape(None, None, frozenset(), {}, frozenset(), None, False, s["$ref"])
    branches = s.get("anyOf") or s.get("oneOf")
    if isinstance(branches, list) and branches:
        return _union([_shape(b, root) for b in branches])
    if isinstance(s.get("allOf"), list):
        merged: JsonObject = {k: v for k, v in s.items() if k != "allOf"}
        for part in s["allOf"]:
            merged.update(_resolve(part, root))
        return _shape(merged, root)

    enum: frozenset[str] | None = None
    values: list[Any] | None = None
    if "const" in s:
        values = [s["const"]]
    elif isinstance(s.get("enum"), list):
        values = list(s["enum"])
    if values is not None:
        enum = frozenset(_canonical(v) for v in values)
    declared = s.get("type")
    types: frozenset[str] | None
    if isinstance(declared, str):
        types = frozenset({declared})
    elif isinstance(declared, list):
        types = frozenset(str(t) for t in declared)
    elif values is not None:
        types = frozenset(_json_type(v) for v in values)
    elif "properties" in s:
        types = frozenset({"object"})
    elif "items" in s:
        types = frozenset({"array"})
    else:
        types = None
    formats = frozenset({str(s.get("format", ""))}) if types is None or "string" in types else frozenset()
    properties = s.get("properties") if isinstance(s.get("properties"), dict) else {}
    items = s.get("items") if isinstance(s.get("items"), dict) else None
    return _Shape(types, enum, formats, properties or {}, frozenset(s.get("required", ())), items,
                  s.get("additionalProperties") is False, None)


def _union(shapes: Sequence[_Shape]) -> _Shape:
    """The shape of `anyOf`: any branch's values. A null branch does not lift the others' enum."""
    types: frozenset[str] | None = frozenset()
    for shape in shapes:
        types = None if types is None or shape.types is None else types | shape.types
    restricted = [s for s in shapes if s.types != frozenset({"null"})]
    enum: frozenset[str] | None = None
    if restricted and all(s.enum is not None for s in restricted):
        enum = frozenset().union(*(s.enum or frozenset() for s in restricted))
    objects = [s for s in shapes if s.properties]
    properties: dict[str, JsonObject] = {}
    for shape in objects:
        properties.update(shape.properties)
    required = frozenset.intersection(*(s.required for s in objects)) if objects else frozenset()
    items = next((s.items for s in shapes if s.items is not None), None)
    refs = {s.external_ref for s in shapes if s.external_ref}
    return _Shape(types, enum, frozenset().union(*(s.formats for s in shapes)), properties, required, items,
                  bool(objects) and all(s.closed for s in objects), ",".join(sorted(refs)) or None)


def _show_types(types: frozenset[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types)) or "nothing"


def _show_values(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def incompatibilities(old_schema: dict[str, Any], new_schema: dict[str, Any]) -> list[str]:
    """How `new_schema` breaks readers and stored events that followed `old_schema`; empty if it does not.

    Incompatible: a property removed, a property newly required (events already in the topic lack
    it), a changed type or string format (nullable included), enum values removed, values newly
    restricted to an enum. Compatible: new optional properties, enum values added, an enum lifted,
    changes to titles, descriptions and defaults. Nested objects and array items are compared the
    same way, and each finding names its property path.
    """
    return _evolution(old_schema, old_schema, new_schema, new_schema, "", 0)


def _evolution(old: JsonObject, old_root: JsonObject, new: JsonObject, new_root: JsonObject, path: str,
               depth: int) -> list[str]:
    if depth > _MAX_DEPTH:
        return []
    o, n = _shape(old, old_root), _shape(new, new_root)
    where = path or "(root)"
    if o.external_ref or n.external_ref:
        return [] if o.external_ref == n.external_ref else [
            f"{where}: reference changed from {o.external_ref} to {n.external_ref}"]
    if o.types != n.types:
        return [f"{where}: type changed from {_show_types(o.types)} to {_show_types(n.types)}"]
    problems = []
    if o.formats != n.formats:
        problems.append(f"{where}: string format changed from {_show_values(o.formats) or 'none'} to "
                        f"{_show_values(n.formats) or 'none'}")
    if o.enum is not None and n.enum is not None and o.enum - n.enum:
        problems.append(f"{where}: enum values removed: {_show_values(o.enum - n.enum)}")
    if o.enum is None and n.enum is not None:
        problems.append(f"{where}: values newly restricted to {_show_values(n.enum)}")
    for name, old_prop in sorted(o.properties.items()):
        if name not in n.properties:
            problems.append(f"{_join(path, name)}: property removed")
        else:
            problems += _evolution(old_prop, old_root, n.properties[name], new_root, _join(path, name), depth + 1)
    for name in sorted(n.required - o.required):
        added = "" if name in o.properties else " (a new property)"
        problems.append(f"{_join(path, name)}: property newly required{added}")
    if o.items is not None and n.items is not None:
        problems += _evolution(o.items, old_root, n.items, new_root, f"{path}[]", depth + 1)
    return problems


def unaccepted(consumer_schema: dict[str, Any], producer_schema: dict[str, Any]) -> list[str]:
    """What a producer may send that a consumer cannot take; empty when every producer value fits.

    A field the consumer requires must be a required producer field. Every field the consumer reads,
    required or not, must have a type, string format and enum values the consumer accepts (a mismatch
    on an optional field fails validation too, and dead-letters the event). Integers fit numbers; a
    plain string accepts any format. Constraints such as patterns and lengths are not compared.
    """
    return _acceptance(consumer_schema, consumer_schema, producer_schema, producer_schema, "", 0)


def _acceptance(consumer: JsonObject, c_root: JsonObject, producer: JsonObject, p_root: JsonObject, path: str,
                depth: int) -> list[str]:
    if depth > _MAX_DEPTH:
        return []
    c, p = _shape(consumer, c_root), _shape(producer, p_root)
    where = path or "(root)"
    if c.external_ref or p.external_ref:
        return [] if c.external_ref == p.external_ref else [
            f"{where}: consumer refers to {c.external_ref}, producer to {p.external_ref}"]
    problems = []
    if c.types is not None:
        if p.types is None:
            return [f"{where}: producer allows any value, consumer takes only {_show_types(c.types)}"]
        extra = {t for t in p.types if t not in c.types and not (t == "integer" and "number" in c.types)}
        if extra:
            return [f"{where}: producer sends {_show_types(p.types)}, consumer takes {_show_types(c.types)}"]
    if c.enum is not None:
        if p.enum is None:
            problems.append(f"{where}: consumer takes only {_show_values(c.enum)}, producer does not restrict values")
        elif p.enum - c.enum:
            problems.append(f"{where}: producer may send {_show_values(p.enum - c.enum)}, consumer does not take it")
    if "" not in c.formats and c.formats and p.formats - c.formats:
        problems.append(f"{where}: producer sends strings of format {_show_values(p.formats) or 'none'}, consumer "
                        f"needs {_show_values(c.formats)}")
    for name, c_prop in sorted(c.properties.items()):
        needed = name in c.required
        if name not in p.properties:
            if needed:
                problems.append(f"{_join(path, name)}: required by the consumer, missing in the producer's schema")
            continue
        if needed and name not in p.required:
            problems.append(f"{_join(path, name)}: required by the consumer, optional in the producer's schema")
        problems += _acceptance(c_prop, c_root, p.properties[name], p_root, _join(path, name), depth + 1)
    if c.closed:
        problems += [f"{_join(path, name)}: sent by the producer, forbidden by the consumer"
                     for name in sorted(set(p.properties) - set(c.properties))]
    if c.items is not None and p.items is not None:
        problems += _acceptance(c.items, c_root, p.items, p_root, f"{path}[]", depth + 1)
    return problems


# --------------------------------------------------------------------------------------------------
# Checks against the repository.


def committed_text(root: Path, rel: Path) -> str | None:
    """The file as committed at HEAD, or None when HEAD lacks it (or there is no git history)."""
    try:
        done = subprocess.run(["git", "show", f"HEAD:{rel.as_posix()}"], cwd=root, capture_output=True,
                              check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode() if done.returncode == 0 else None


def _committed_event_schemas(root: Path) -> list[Path]:
    try:
        done = subprocess.run(["git", "ls-tree", "-r", "--name-only", "HEAD", "--", "services"], cwd=root,
                              capture_output=True, check=False, timeout=30, text=True)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []
    pattern = re.compile(rf"^services/[^/]+/{SCHEMAS_DIR}/{EVENTS_DIR}/[^/]+\.json$")
    return [Path(line) for line in done.stdout.splitlines() if pattern.match(line)]


def compatibility_problems(root: Path) -> list[str]:
    """Incompatible changes of the generated event schemas against the committed ones.

    The baseline of each schema is its version at git HEAD, or the working copy when HEAD does not
    have it yet (a new event: nothing to be compatible with but what is about to be committed). An
    event schema committed at HEAD that the code no longer generates is a removed event: incompatible.
    """
    fresh = {e.path: event_schema(e) for service in SERVICES for e in published_events(service)}
    problems = []
    for rel, new in sorted(fresh.items()):
        text = committed_text(root, rel)
        if text is None and (root / rel).exists():
            text = (root / rel).read_text(encoding="utf-8")
        if text is None:
            continue
        problems += [f"{rel.stem}: {p}" for p in incompatibilities(json.loads(text), new)]
    for rel in _committed_event_schemas(root):
        if rel not in fresh:
            problems.append(f"{rel.stem}: no longer published (its schema {rel} is committed at HEAD)")
    return problems


def consumer_problems(root: Path) -> list[str]:
    """Every field a consumer requires that its producer's committed schema lacks or types differently.

    Producers are found by file: `services/*/schemas/events/<event type>.json`, exactly one of them.
    """
    problems = []
    for service in SERVICES:
        for event_type, subscription in sorted(load_definition(service).handlers.by_type.items()):
            reader = f"{service} ({subscription.payload.__name__}) reading {event_type}"
            files = sorted(root.glob(f"services/*/{SCHEMAS_DIR}/{EVENTS_DIR}/{event_type}.json"))
            if not files:
                problems.append(f"{reader}: no service publishes it (no services/*/{SCHEMAS_DIR}/{EVENTS_DIR}/"
                                f"{event_type}.json)")
                continue
            if len(files) > 1:
                problems.append(f"{reader}: published by more than one service: {[str(f) for f in files]}")
                continue
            producer = json.loads(files[0].read_text(encoding="utf-8"))
            consumer = subscription.payload.model_json_schema(mode="validation")
            problems += [f"{reader}: {p}" for p in unaccepted(consumer, producer)]
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit.contracts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["write", "check", "compat", "consumers"])
    parser.add_argument("--root", type=Path, default=None, help="repository root (default: found from cwd)")
    args = parser.parse_args(argv)
    root = find_root(args.root)
    if args.command == "write":
        for line in write(root):
            print(line)
        return 0
    if args.command == "check":
        problems = check(root)
        hint = "run `python -m servicekit.contracts write` and commit the result"
    elif args.command == "compat":
        problems = compatibility_problems(root)
        hint = "make the change compatible, or publish a new event type version (.v2) beside the old one"
    else:
        problems = consumer_problems(root)
        hint = "align the consumer's payload model with the producer's schema"
    if not problems:
        print(f"contracts {args.command}: ok")
        return 0
    print(f"contracts {args.command}: {len(problems)} problem(s)", file=sys.stderr)
    for problem in problems:
        print(f"- {problem}", file=sys.stderr)
    print(hint, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
