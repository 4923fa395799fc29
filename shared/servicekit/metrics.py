"""Prometheus metrics every process of a service exposes, named by convention.

Names carry the service as prefix (`trading_http_requests_total`), use base units (seconds) and end
counters in `_total`; `promtool check metrics` is run against every process in the tests. Domain
metrics are defined by each service next to its domain, with the same prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class KitMetrics:
    http_requests: Counter
    http_duration: Histogram
    http_in_flight: Gauge
    events_published: Counter
    events_consumed: Counter
    events_duplicate: Counter
    events_failed: Counter
    events_dead_lettered: Counter
    outbox_backlog: Gauge
    outbox_oldest_age: Gauge
    consumer_lag: Gauge
    consumer_last_processed: Gauge
    store_up: Gauge


_by_prefix: dict[str, KitMetrics] = {}


def kit_metrics(prefix: str, registry: CollectorRegistry = DEFAULT_REGISTRY) -> KitMetrics:
    """The kit's metrics for one service, created once per process."""
    if prefix in _by_prefix:
        return _by_prefix[prefix]
    p = prefix
    made = KitMetrics(
        http_requests=Counter(f"{p}_http_requests_total", "HTTP requests answered, by route template",
                              ["method", "route", "status"], registry=registry),
        http_duration=Histogram(f"{p}_http_request_duration_seconds", "HTTP request latency",
                                ["method", "route"], buckets=LATENCY_BUCKETS, registry=registry),
        http_in_flight=Gauge(f"{p}_http_requests_in_flight", "HTTP requests being served", registry=registry),
        events_published=Counter(f"{p}_events_published_total", "Events published to Kafka by the outbox relay",
                                 ["type"], registry=registry),
        events_consumed=Counter(f"{p}_events_consumed_total", "Events consumed and applied (or ignored)",
                                ["type", "outcome"], registry=registry),
        events_duplicate=Counter(f"{p}_events_duplicate_total", "Redelivered events found already applied",
                                 ["type"], registry=registry),
        events_failed=Counter(f"{p}_events_failed_total", "Failed attempts to handle an event",
                              ["type"], registry=registry),
        events_dead_lettered=Counter(f"{p}_events_dead_lettered_total", "Events sent to the dead-letter topic",
                                     ["type"], registry=registry),
        outbox_backlog=Gauge(f"{p}_outbox_backlog_events", "Events written but not yet published",
                             registry=registry),
        outbox_oldest_age=Gauge(f"{p}_outbox_oldest_age_seconds",
                                "Age of the oldest unpublished event (0 when none)", registry=registry),
        consumer_lag=Gauge(f"{p}_consumer_lag_messages", "Messages behind the partition's high watermark",
                           ["topic", "partition"], registry=registry),
        consumer_last_processed=Gauge(f"{p}_consumer_last_processed_timestamp_seconds",
                                      "Unix time the last event of a topic was processed", ["topic"],
                                      registry=registry),
        store_up=Gauge(f"{p}_store_up", "1 when the last MongoDB check succeeded", registry=registry),
    )
    _by_prefix[prefix] = made
    return made


def render_latest(registry: CollectorRegistry = DEFAULT_REGISTRY) -> bytes:
    return generate_latest(registry)
