"""Topics are declared in code and created, idempotently, when a process starts."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 6
    retention_ms: int = 30 * DAY_MS

    def config(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": "delete"}


def domain_topic(service: str) -> TopicSpec:
    """One topic per service for its domain events, keyed by aggregate id."""
    return TopicSpec(f"{service}.events")


def dead_letter_topic(consumer_group: str) -> TopicSpec:
    """One dead-letter topic per consumer group; kept longer, so an operator has time to re-drive."""
    return TopicSpec(f"{consumer_group}.dlq", partitions=3, retention_ms=90 * DAY_MS)


async def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec], replicas: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        for spec in missing:
            try:
                await admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, replicas, topic_configs=spec.config())]
                )
                log.info("created topic", extra={"topic": spec.name})
            except TopicAlreadyExistsError:
                pass  # another process won the race: fine
    finally:
        await admin.close()
