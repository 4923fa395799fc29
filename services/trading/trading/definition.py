"""The trading service, as the kit sees it."""

from __future__ import annotations

from servicekit.consumer import EventHandlers
from servicekit.service import ServiceDefinition

from trading.organisations import projection as organisation_projection
from trading.organisations import routes as organisation_routes
from trading.settings import TradingSettings

handlers = EventHandlers()
organisation_projection.register_handlers(handlers)

TRADING = ServiceDefinition(
    name="trading",
    title="Patent trading",
    description="Patent listings, demands, negotiation, licences, transfers, pledges and fairs.",
    settings_factory=TradingSettings,
    routers=[organisation_routes.router],
    indexes=organisation_projection.INDEXES,
    handlers=handlers,
)
