"""The registry service, as the kit sees it."""

from __future__ import annotations

from servicekit.service import ServiceDefinition

from registry.organisations import routes as organisation_routes
from registry.organisations import store as organisation_store
from registry.settings import RegistrySettings

REGISTRY = ServiceDefinition(
    name="registry",
    title="IP talent registry",
    description="Organisations and IP talents of the provincial programme.",
    settings_factory=RegistrySettings,
    routers=[organisation_routes.router],
    indexes=organisation_store.INDEXES,
    outbox_collections=[organisation_store.COLLECTION],
)
