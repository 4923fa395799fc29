"""A test-only service built with the kit, to prove dead-letter re-drive after a fix.

Its one handler fails for records named `poison…` while the `faults` collection says the bug is
present: turning the fault off plays the part of deploying the fix. Run as
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


class SimulatedBug(RuntimeError):
    pass


handlers = EventHandlers()


@handlers.on(TOPIC, ThingRecordedV1)
async def record_thing(db: Database, event: CloudEvent, payload: ThingRecordedV1) -> bool:
    if payload.name.startswith("poison") and await db["faults"].find_one({"_id": "bug", "present": True}):
        raise SimulatedBug(f"cannot handle {payload.name} until the bug is fixed")
    return await apply_once(db["things"], payload.thing_id, event.id, {"$set": {"name": payload.name}})


PROBE = ServiceDefinition(name="probe", settings_factory=ProbeSettings, handlers=handlers)

if __name__ == "__main__":
    main(PROBE)
