"""Which services exist, and what each publishes and receives, read from their code.

Services are found through the `ipo_platform.services` entry points each service declares in its
`pyproject.toml` (name = service, value = its ServiceDefinition), so a new service is covered by the
contract checks as soon as it is installed into the workspace, without editing a list here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload
from servicekit.service import ServiceDefinition
from servicekit.settings import ServiceSettings

ENTRY_POINT_GROUP = "ipo_platform.services"
SCHEMAS_DIR = "schemas"
EVENTS_DIR = "events"

# A published event type: <prefix>.<service>.<aggregate>.<happening>.v<major> (ARCHITECTURE section 3).
_EVENT_TYPE = re.compile(r"^[a-z0-9]+(\.[a-z0-9_]+)+\.v[1-9][0-9]*$")


class ContractError(Exception):
    """The code cannot be turned into a contract as it stands (a naming or declaration mistake)."""


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


def service_names() -> tuple[str, ...]:
    """Every installed service, by name, sorted: the services the contracts are generated for."""
    names = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    if not names:
        raise ContractError(f"no installed package declares a {ENTRY_POINT_GROUP!r} entry point; is the workspace "
                            "installed (make install)?")
    if len(set(names)) != len(names):
        raise ContractError(f"two packages declare the same service in {ENTRY_POINT_GROUP!r}: {names}")
    return tuple(names)


def load_definition(service: str) -> ServiceDefinition:
    """The ServiceDefinition a service declares as its entry point, e.g. `registry.definition:REGISTRY`.

    Its name must be the entry point's and its top-level package's: event schemas are filed under
    `services/<name>/` and its events are looked for in the package of that name.
    """
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == service]
    if not found:
        raise ContractError(f"no {ENTRY_POINT_GROUP!r} entry point is named {service!r}")
    entry = found[0]
    definition = entry.load()
    if not isinstance(definition, ServiceDefinition):
        raise ContractError(f"entry point {service} = {entry.value} is not a ServiceDefinition")
    if definition.name != service or entry.module.split(".", 1)[0] != service:
        raise ContractError(f"entry point {service} = {entry.value}: the definition is named {definition.name!r}; "
                            "the entry point, the definition and the package should share one name")
    return definition


def definitions() -> dict[str, ServiceDefinition]:
    """Every installed service's definition, by name, in name order."""
    return {service: load_definition(service) for service in service_names()}


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

