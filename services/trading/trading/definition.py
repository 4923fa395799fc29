"""The trading service, as the kit sees it."""

from __future__ import annotations

from servicekit.consumer import EventHandlers
from servicekit.service import ServiceDefinition

from trading.demands import routes as demand_routes
from trading.demands import store as demand_store
from trading.imports import routes as import_routes
from trading.listings import routes as listing_routes
from trading.listings import store as listing_store
from trading.listings.indexer import SEARCH_INDEXER, SEGMENT_FOLDER
from trading.matching import handlers as matchmaker
from trading.matching import routes as match_routes
from trading.matching import store as match_store
from trading.negotiations import deals
from trading.negotiations.sweep import DEAL_GAUGES, DEALS_SWEEP
from trading.organisations import projection as organisation_projection
from trading.organisations import routes as organisation_routes
from trading.patents import routes as patent_routes
from trading.patents import store as patent_store
from trading.settings import TradingSettings

handlers = EventHandlers()
organisation_projection.register_handlers(handlers)
matchmaker.register_handlers(handlers)
deals.register_handlers(handlers)

TRADING = ServiceDefinition(
    name="trading",
    title="Patent trading",
    description="Patent listings, demands, negotiation, licences, transfers, pledges and fairs.",
    settings_factory=TradingSettings,
    routers=[organisation_routes.router, listing_routes.router, demand_routes.router, match_routes.router,
             import_routes.router, patent_routes.router, *deals.ROUTERS],
    indexes=[*organisation_projection.INDEXES, *listing_store.INDEXES, *demand_store.INDEXES, *match_store.INDEXES,
             *deals.INDEXES],
    outbox_collections=[listing_store.COLLECTION, demand_store.COLLECTION, patent_store.COLLECTION,
                        *deals.OUTBOX_COLLECTIONS],
    # Matches are written by the worker's matchmaker, so the worker relays their events (woken by the
    # kit's unit of work when a match is inserted).
    worker_outbox_collections=[match_store.COLLECTION],
    handlers=handlers,
    background_tasks=[SEARCH_INDEXER, SEGMENT_FOLDER, DEALS_SWEEP, DEAL_GAUGES],
    tallied_aggregates=deals.TALLIED_AGGREGATES,
)
