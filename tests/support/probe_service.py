"""A test-only service built with the kit, to prove dead-letter re-drive after a fix and exactly-once
effects across a worker crash.

Its `things` handler fails for records named `poison…` while the `faults` collection says the bug is
present: turning the fault off plays the part of deploying the fix. Its `tallies` handler adds each
event's amount to a running total, an effect that would show any event applied twice. Run as
`python -m tests.support.probe_service worker|redrive` with PROBE_* settings.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from servicekit.cli import main
from servicekit.consumer import EventHandlers
from servicekit.events.envelope import EVENT_TYPE_PREFIX, CloudEvent, ConsumedPayload, EventPayload
from servicekit.mongo import Database, apply_once
from servicekit.service import ServiceDefinition
from servicekit.settings import ServiceSettings

TOPIC = "probe.events"
TALLY_TOPIC = "probetally.events"  # the kit declares `<name>.events` topics


class ProbeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROBE_", extra="ignore", frozen=True)

    service_name: str = "probe"


class ThingRecorded(EventPayload):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.probe.thing.recorded.v1"
    thing_id: str
    name: str


class ThingRecordedV1(ConsumedPayload):
    event_type: ClassVar[str] = ThingRecorded.event_type
    thing_id: str
    name: str


class AmountCounted(EventPayload):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.probe.amount.counted.v1"
    tally_id: str
    amount: int


class AmountCountedV1(ConsumedPayload):
    event_type: ClassVar[str] = AmountCounted.event_type
    tally_id: str
    amount: int


class SimulatedBug(RuntimeError):
    pass


handlers = EventHandlers()


@handlers.on(TOPIC, ThingRecordedV1)
async def record_thing(db: Database, event: CloudEvent, payload: ThingRecordedV1) -> bool:
    if payload.name.startswith("poison") and await db["faults"].find_one({"_id": "bug", "present": True}):
        raise SimulatedBug(f"cannot handle {payload.name} until the bug is fixed")
    return await apply_once(db["things"], payload.thing_id, event.id, {"$set": {"name": payload.name}})


@handlers.on(TALLY_TOPIC, AmountCountedV1)
async def count_amount(db: Database, event: CloudEvent, payload: AmountCountedV1) -> bool:
    return await apply_once(db["tallies"], payload.tally_id, event.id, {"$inc": {"total": payload.amount}})


PROBE = ServiceDefinition(name="probe", settings_factory=ProbeSettings, handlers=handlers)

if __name__ == "__main__":
    main(PROBE)
