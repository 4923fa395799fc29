"""Everything the deals packages (negotiations, licences, transfers, pledges, fairs, talents) add to
the trading service, in one place, so definition.py needs one line per kind of thing."""

from __future__ import annotations

from fastapi import APIRouter
from servicekit.consumer import EventHandlers
from servicekit.mongo import IndexSpec

from trading.fairs import routes as fair_routes
from trading.fairs import store as fair_store
from trading.licences import routes as licence_routes
from trading.licences import store as licence_store
from trading.negotiations import routes as negotiation_routes
from trading.negotiations import store as negotiation_store
from trading.pledges import routes as pledge_routes
from trading.pledges import store as pledge_store
from trading.talents import projection as talent_projection
from trading.talents import routes as talent_routes
from trading.transfers import routes as transfer_routes
from trading.transfers import store as transfer_store

ROUTERS: list[APIRouter] = [negotiation_routes.router, licence_routes.router, transfer_routes.router,
                            pledge_routes.router, fair_routes.router, talent_routes.router]

INDEXES: list[IndexSpec] = [*negotiation_store.INDEXES, *licence_store.INDEXES, *transfer_store.INDEXES,
                            *pledge_store.INDEXES, *fair_store.INDEXES, *talent_projection.INDEXES]

# Aggregates whose documents carry their own events. The per-patent register (licences/register.py)
# carries none and needs no index beyond _id.
OUTBOX_COLLECTIONS: list[str] = [negotiation_store.COLLECTION, licence_store.COLLECTION, transfer_store.COLLECTION,
                                 pledge_store.COLLECTION, fair_store.COLLECTION]
# The deals that keep the deal gauges' and fairs' tallies (trading/fairs/tallies.py).
TALLIED_AGGREGATES = [negotiation_store.AGGREGATE, licence_store.AGGREGATE, transfer_store.AGGREGATE,
                      pledge_store.AGGREGATE, fair_store.AGGREGATE]


def register_handlers(handlers: EventHandlers) -> None:
    talent_projection.register_handlers(handlers)
