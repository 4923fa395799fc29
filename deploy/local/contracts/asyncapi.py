"""The AsyncAPI 3.0 document of one service's topics: what it sends, dead-letters and receives."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from servicekit.consumer import DLQ_PREFIX, Record, dead_letter_headers
from servicekit.events.envelope import CONTENT_TYPE, EVENT_TYPE_PREFIX, CloudEvent, ConsumedPayload
from servicekit.events.topics import TopicSpec, dead_letter_topic, domain_topic
from servicekit.service import ServiceDefinition

from contracts.discovery import EVENTS_DIR, SCHEMAS_DIR, ContractError, PublishedEvent, consumer_group, producer_of

JsonObject = dict[str, Any]

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"

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

