"""The worker: a faust-streaming app that feeds a service's event handlers through the Dispatcher.

Kafka settings are set explicitly because the client defaults are wrong for this job:
- offsets are committed by faust only after the agent has finished with a record (at-least-once,
  never aiokafka's auto-commit), every half second, so a crash replays little and loses nothing;
- a new consumer group starts from the earliest record: a projection must see the whole history;
- faust's own producer uses acks=all; dead letters go through the kit's idempotent producer.

One agent instance (concurrency=1) reads the records; its partition lanes (servicekit.consumer.
PartitionLanes) handle different partitions' records side by side and each partition's in offset
order, which is what keeps an aggregate's events in order (they share a key, hence a partition).
Each record is acknowledged by hand once handled, so faust commits a partition only up to its first
record not yet handled. Handlers already had to be safe side by side: two worker replicas handle
different partitions at once (on FerretDB, `apply_once` and the kit's writes hold each document's
process lock).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.web import Request, Response, View

from servicekit.consumer import Dispatcher, PartitionLanes, Record, RetryPolicy
from servicekit.events.topics import dead_letter_topic, domain_topic, ensure_topics
from servicekit.logging import configure_logging
from servicekit.metrics import render_latest
from servicekit.service import ServiceContext, ServiceDefinition
from servicekit.settings import ServiceSettings

log = logging.getLogger(__name__)

# Records taken from the stream and not yet handled, over all partitions (see PartitionLanes).
RECORDS_IN_HAND = 64


def retry_policy(settings: ServiceSettings) -> RetryPolicy:
    return RetryPolicy(settings.consumer_max_attempts, settings.consumer_backoff_initial_seconds,
                       settings.consumer_backoff_max_seconds)


def subscribed_topics(definition: ServiceDefinition, settings: ServiceSettings) -> list[Any]:
    """Topics the worker needs to exist: what it consumes (declared by their owners with the same
    spec) and its dead-letter topic."""
    specs = [domain_topic(t.removesuffix(".events")) for t in definition.handlers.topics]
    return [*specs, dead_letter_topic(settings.consumer_group)]


def create_worker(definition: ServiceDefinition, settings: ServiceSettings) -> faust.App:
    app = faust.App(
        settings.consumer_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_client_id=settings.consumer_group,
        autodiscover=False,
        datadir=str(settings.worker_data_dir / f"{settings.consumer_group}-data"),
        processing_guarantee="at_least_once",
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=100,
        broker_commit_interval=settings.consumer_commit_interval_seconds,
        # A worker killed without leaving the group loses its partitions after this long.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        broker_request_timeout=30.0,
        # After a broker restart the group may rebalance before the broker has loaded its topics; the
        # assignment then holds no partitions until the next metadata refresh notices them. faust's
        # default refresh is 5 minutes; 10 s bounds that stall (measured: tests/stack/test_faults.py).
        consumer_metadata_max_age_ms=10_000,
        topic_replication_factor=settings.kafka_topic_replicas,
        topic_disable_leader=True,  # no leader election needed: no timers or tables
        web_enabled=True,
        web_bind=settings.worker_host,
        web_host=settings.worker_host,
        web_port=settings.worker_port,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_router_enabled=False,
        web_tables_enabled=False,
        web_metrics_enabled=False,
    )
    state: dict[str, ServiceContext] = {}
    started = asyncio.Event()

    async def context() -> ServiceContext:
        if "ctx" not in state:
            ctx = ServiceContext(definition, settings, role="worker")
            # Relays only what the handlers write (definition.worker_outbox_collections), if anything.
            await ctx.start(run_relay=True)
            state["ctx"] = ctx
            started.set()
        return state["ctx"]

    if definition.handlers.topics:
        _add_consumer_agent(app, definition, settings, context)

    @app.page("/healthz")
    async def healthz(self: View, request: Request) -> Response:
        return self.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(self: View, request: Request) -> Response:
        if not started.is_set():
            return self.json({"status": "starting"}, status=503)
        checks = await state["ctx"].readiness()
        ok = all(v == "ok" for v in checks.values())
        return self.json({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)

    @app.page("/metrics")
    async def metrics(self: View, request: Request) -> Response:
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8 by definition.
        return self.bytes(render_latest(), content_type="text/plain; version=0.0.4")

    # mode's signal stubs expect an un-awaited callable type; an async receiver is what it supports.
    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def close(app: Any, *args: Any, **kwargs: Any) -> None:
        if "ctx" in state:
            await state["ctx"].stop()

    # Touch metrics once so that /metrics lists the kit's series from the first scrape.
    @app.task  # type: ignore[misc]  # faust's task decorator is untyped
    async def warm_up() -> None:
        await context()

    return app


def _add_consumer_agent(app: faust.App, definition: ServiceDefinition, settings: ServiceSettings,
                        context: Callable[[], Awaitable[ServiceContext]]) -> None:
    """One agent over every subscribed topic; it hands each record to the Dispatcher."""
    topic = app.topic(*definition.handlers.topics, key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")

    @app.agent(topic, concurrency=1)
    async def consume(stream: Any) -> None:
        ctx = await context()
        # Store traits (learned with the indexes) decide how handlers write; Kafka carries dead letters.
        await ctx.indexes_ready.wait()
        await ctx.kafka_ready.wait()
        dispatcher = Dispatcher(ctx.db, definition.handlers, ctx.metrics, ctx.producer,
                                dead_letter_topic(settings.consumer_group).name, settings.consumer_group,
                                retry_policy(settings))

        async def handle(event: Any) -> None:
            message = event.message
            record = Record(message.topic, message.partition, message.offset, message.key, message.value,
                            headers=_headers(message.headers))
            await dispatcher.process(record)
            # Acknowledged by hand, in each partition's offset order (its lane): faust commits a
            # partition's offsets only up to the first one not acknowledged.
            event.ack()
            try:
                highwater = app.consumer.highwater(message.tp)
                if highwater is not None:
                    ctx.metrics.consumer_lag.labels(message.topic, str(message.partition)).set(
                        max(highwater - message.offset - 1, 0))
            except Exception:  # lag is best-effort; never let it stop consumption
                log.debug("no highwater yet", exc_info=True)

        lanes = PartitionLanes(handle, limit=RECORDS_IN_HAND)
        try:
            async for event in stream.noack().events():
                await lanes.put(event.message.tp, event)
        finally:
            await lanes.close()


def _headers(raw: Any) -> list[tuple[str, bytes]]:
    if not raw:
        return []
    items = raw.items() if isinstance(raw, dict) else raw
    return [(k, v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


class _Worker(faust.Worker):
    def __init__(self, *args: Any, service: str, log_level: str, **kwargs: Any) -> None:
        self._service = service
        self._log_level = log_level
        super().__init__(*args, **kwargs)

    def _setup_logging(self) -> None:
        configure_logging(self._service, self._log_level)


def run_worker(definition: ServiceDefinition, settings: ServiceSettings) -> None:
    configure_logging(definition.name, settings.log_level)
    asyncio.run(_ensure_topics_with_retry(definition, settings))
    app = create_worker(definition, settings)
    worker = _Worker(app, service=definition.name, log_level=settings.log_level, quiet=True,
                     redirect_stdouts=False, loglevel=settings.log_level)
    worker.execute_from_commandline()


async def _ensure_topics_with_retry(definition: ServiceDefinition, settings: ServiceSettings) -> None:
    deadline = time.monotonic() + 120
    delay = 0.5
    while True:
        try:
            await ensure_topics(settings.kafka_bootstrap, subscribed_topics(definition, settings),
                                settings.kafka_topic_replicas)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("kafka not ready for topic creation (%s); retrying", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5)
