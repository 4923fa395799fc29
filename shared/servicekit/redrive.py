"""Re-drive dead letters after a fix: apply each through the same handlers, in order.

The command consumes the group's dead-letter topic with its own consumer group (`<group>.redrive`),
so its progress is kept by Kafka: a record is committed only once its handler succeeded (or found it
already applied). At the first record that still fails it stops and says which, leaving that record
and everything after it in place for the next attempt.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from servicekit.consumer import DeadLetterRefused, Dispatcher, Record
from servicekit.events.topics import dead_letter_topic
from servicekit.metrics import kit_metrics
from servicekit.mongo import learn_store_traits
from servicekit.service import ServiceContext, ServiceDefinition
from servicekit.settings import ServiceSettings
from servicekit.worker import retry_policy

log = logging.getLogger(__name__)


@dataclass
class RedriveReport:
    redriven: int = 0
    failed_at: str | None = None
    error: str | None = None


async def redrive(definition: ServiceDefinition, settings: ServiceSettings, idle_seconds: float = 3.0) -> RedriveReport:
    topic = dead_letter_topic(settings.consumer_group).name
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, group_id=f"{settings.consumer_group}.redrive",
        enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_committed",
    )
    ctx = ServiceContext(definition, settings)
    await learn_store_traits(ctx.db)  # handlers write the way the store does best (see servicekit.mongo)
    # No dead-letter sink: in re-drive a failure must stop the run, not dead-letter again.
    dispatcher = Dispatcher(ctx.db, definition.handlers, kit_metrics(definition.name), None, topic,
                            settings.consumer_group, retry_policy(settings))
    report = RedriveReport()
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int(idle_seconds * 1000), max_records=100)
            if not batch:
                return report
            for tp, messages in batch.items():
                for message in messages:
                    record = Record(message.topic, message.partition, message.offset, message.key,
                                    message.value, headers=list(message.headers))
                    try:
                        await dispatcher.process(record)
                    except DeadLetterRefused as exc:
                        report.failed_at = f"{tp.topic}:{tp.partition}@{message.offset}"
                        report.error = str(exc)
                        return report
                    await consumer.commit({TopicPartition(tp.topic, tp.partition): message.offset + 1})
                    report.redriven += 1
    finally:
        await consumer.stop()
        await ctx.client.close()


def run_redrive(definition: ServiceDefinition, settings: ServiceSettings) -> int:
    report = asyncio.run(redrive(definition, settings))
    print(f"re-driven: {report.redriven}")
    if report.failed_at:
        print(f"stopped at {report.failed_at}, still failing: {report.error}")
        return 1
    return 0
