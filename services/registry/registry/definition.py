"""The registry service, as the kit sees it."""

from __future__ import annotations

from servicekit.service import ServiceDefinition

from registry.certification import routes as certification_routes
from registry.certification import store as certification_store
from registry.credentials import routes as credential_routes
from registry.credits.handlers import HANDLERS
from registry.organisations import routes as organisation_routes
from registry.organisations import store as organisation_store
from registry.settings import RegistrySettings
from registry.talents import routes as talent_routes
from registry.talents import store as talent_store
from registry.targets import routes as target_routes
from registry.targets.refresh import TALENT_TALLY

REGISTRY = ServiceDefinition(
    name="registry",
    title="IP talent registry",
    description="Organisations and IP talents of the provincial programme: talents, credits from training, "
                "certification, talent pools and plan targets, and the public credential check.",
    settings_factory=RegistrySettings,
    routers=[organisation_routes.router, talent_routes.router, certification_routes.router,
             credential_routes.router, target_routes.router],
    indexes=[*organisation_store.INDEXES, *talent_store.INDEXES, *certification_store.INDEXES],
    outbox_collections=[organisation_store.COLLECTION, talent_store.COLLECTION],
    handlers=HANDLERS,
    background_tasks=[TALENT_TALLY],
    # `python -m registry recount-tallies` (a bulk job) repairs the talent tally from the talents.
    tallied_aggregates=[talent_store.AGGREGATE],
)
