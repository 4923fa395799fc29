"""The publicity service, as the kit sees it: campaigns (with projections of trading's fairs and the
registry's organisations), activities submitted by participating units, public events with registration
and check-in, press releases and news with review, embargo and a self-repairing scheduler, news drafted
from the other services' milestones, and public feeds."""

from __future__ import annotations

from servicekit.consumer import EventHandlers
from servicekit.service import ServiceDefinition

from publicity import background
from publicity.activities import routes as activity_routes
from publicity.activities import store as activity_store
from publicity.campaigns import routes as campaign_routes
from publicity.campaigns import store as campaign_store
from publicity.feeds import routes as feed_routes
from publicity.milestones import handlers as milestones
from publicity.public_events import routes as event_routes
from publicity.public_events import store as event_store
from publicity.releases import routes as release_routes
from publicity.releases import store as release_store
from publicity.settings import PublicitySettings

handlers = EventHandlers()
milestones.register_handlers(handlers)

PUBLICITY = ServiceDefinition(
    name="publicity",
    title="IP publicity",
    description="Campaigns such as the 4.26 IP Publicity Week, press releases with review and embargo, news "
                "drafted from the other services' milestones, and public feeds.",
    settings_factory=PublicitySettings,
    routers=[campaign_routes.router, activity_routes.router, release_routes.router, release_routes.public_router,
             event_routes.router, event_routes.registrant_router, feed_routes.router],
    indexes=(*campaign_store.INDEXES, *release_store.INDEXES, *event_store.INDEXES,
             *activity_store.INDEXES),
    outbox_collections=[campaign_store.COLLECTION, release_store.COLLECTION, event_store.COLLECTION],
    handlers=handlers,
    background_tasks=[background.RELEASE_SCHEDULER, background.DOMAIN_GAUGES],
    tallied_aggregates=[release_store.AGGREGATE, event_store.REGISTRATION],
)
