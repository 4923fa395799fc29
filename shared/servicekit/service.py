"""What a service declares about itself, and the live resources its processes share.

A service describes itself once in a `ServiceDefinition` (settings class, routers, indexes, topics,
outbox collections, event handlers); the kit's API and worker factories build everything else from it.
This is the one "service defaults" call each service makes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Request
from pymongo import AsyncMongoClient

from servicekit.background import BackgroundRunner, BackgroundTask
from servicekit.consumer import EventHandlers
from servicekit.events.topics import TopicSpec, dead_letter_topic, domain_topic, ensure_topics
from servicekit.metrics import KitMetrics, kit_metrics
from servicekit.mongo import (
    PROCESS_LOCKS,
    Database,
    Document,
    IndexSpec,
    database,
    ensure_indexes,
    learn_store_traits,
    mongo_client,
    ping,
)
from servicekit.outbox import EventProducer, OutboxRelay
from servicekit.settings import ServiceSettings

if TYPE_CHECKING:
    from servicekit.aggregates import Aggregate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    settings_factory: Callable[[], ServiceSettings]
    routers: Sequence[APIRouter] = ()
    indexes: Sequence[IndexSpec] = ()
    # Collections whose documents carry an outbox (the service's aggregates), by the process that
    # writes them: that process runs their relay, so the relay's clearing write never races another
    # process's write of the same document (FerretDB replaces whole documents).
    outbox_collections: Sequence[str] = ()
    worker_outbox_collections: Sequence[str] = ()
    handlers: EventHandlers = field(default_factory=EventHandlers)
    # Periodic work, each task in the process it names (servicekit.background).
    background_tasks: Sequence[BackgroundTask] = ()
    # Aggregates whose documents feed tallies (servicekit.tallies), for `recount-tallies`.
    tallied_aggregates: Sequence[Aggregate] = ()
    title: str = ""
    description: str = ""

    @property
    def events_topic(self) -> TopicSpec:
        return domain_topic(self.name)

    def topics(self, settings: ServiceSettings) -> list[TopicSpec]:
        """Topics this service creates on start-up: its own events and its dead letters."""
        return [self.events_topic, dead_letter_topic(settings.consumer_group)]


class ServiceContext:
    """Live resources of one process: store, producer, outbox relay, metrics."""

    def __init__(self, definition: ServiceDefinition, settings: ServiceSettings,
                 role: Literal["api", "worker"] = "api") -> None:
        self.definition = definition
        self.settings = settings
        self.metrics: KitMetrics = kit_metrics(definition.name)
        self.client: AsyncMongoClient[Document] = mongo_client(settings)
        self.db: Database = database(self.client, settings.database_name)
        self.producer = EventProducer(settings)
        self.relay = OutboxRelay(
            settings=settings, db=self.db, producer=self.producer, metrics=self.metrics, locks=PROCESS_LOCKS,
            topic=definition.events_topic.name,
            collections=definition.outbox_collections if role == "api" else definition.worker_outbox_collections,
        )
        self.background = BackgroundRunner(self, [t for t in definition.background_tasks if t.process == role])
        self.indexes_ready = asyncio.Event()
        self.kafka_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @staticmethod
    def metrics_for(definition: ServiceDefinition) -> KitMetrics:
        return kit_metrics(definition.name)

    async def start(self, *, run_relay: bool) -> None:
        """Start what needs Kafka and MongoDB, retrying in the background while they are down, so
        the process comes up (and /readyz can say what is missing) instead of crashing."""
        self._tasks.append(asyncio.create_task(self._prepare_store(), name="prepare-store"))
        self._tasks.append(asyncio.create_task(self._prepare_kafka(run_relay), name="prepare-kafka"))
        self.background.start()

    async def _prepare_store(self) -> None:
        delay = 0.5
        while True:
            try:
                await learn_store_traits(self.db)
                await ensure_indexes(self.db, self.definition.indexes)
                self.indexes_ready.set()
                return
            except Exception as exc:
                log.warning("store not ready (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _prepare_kafka(self, run_relay: bool) -> None:
        delay = 0.5
        while True:
            try:
                await ensure_topics(self.settings.kafka_bootstrap, self.definition.topics(self.settings),
                                    self.settings.kafka_topic_replicas)
                await self.producer.start()
                break
            except Exception as exc:
                log.warning("kafka not ready (%s); retrying in %.1fs", exc, delay)
                await self.producer.stop()
                self.producer = EventProducer(self.settings)
                self.relay.producer = self.producer
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
        self.kafka_ready.set()
        if run_relay and self.settings.outbox_relay_enabled and self.relay.collections:
            await self.relay.start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.background.stop()
        await self.relay.stop()
        await self.producer.stop()
        await self.client.close()

    async def readiness(self) -> dict[str, str]:
        """Each dependency's state, checked for real (not cached)."""
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(ping(self.db), timeout=self.settings.mongo_timeout_ms / 1000 + 0.5)
            checks["mongodb"] = "ok" if self.indexes_ready.is_set() else "indexes not created yet"
            self.metrics.store_up.set(1)
        except Exception as exc:
            checks["mongodb"] = f"unreachable: {type(exc).__name__}"
            self.metrics.store_up.set(0)
        checks["kafka"] = await self._kafka_check()
        return checks

    async def _kafka_check(self) -> str:
        if not self.kafka_ready.is_set():
            return "not connected yet"
        try:
            client: Any = self.producer._producer.client
            ok = await asyncio.wait_for(client.fetch_all_metadata(), timeout=3)
            return "ok" if ok is not None and ok.brokers() else "no brokers"
        except Exception as exc:
            return f"unreachable: {type(exc).__name__}"


async def context_of(request: Request) -> ServiceContext:
    """FastAPI dependency: the process's ServiceContext. Async, so FastAPI calls it on the event loop
    instead of handing every request's call to its thread pool (a sync dependency runs in a thread)."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx
