"""The catalogue's periodic round (declared in the service definition, run by the kit in the API).

It repairs the search postings of listings a crash left pending (or filed under an older read-model
layout) and refreshes the listings-by-status gauge from the store.
"""

from __future__ import annotations

from servicekit.background import BackgroundTask
from servicekit.service import ServiceContext

from trading.listings import search_store, store
from trading.listings.domain import ListingStatus
from trading.listings.metrics import LISTING_METRICS
from trading.settings import TradingSettings


async def catalogue_round(ctx: ServiceContext) -> None:
    await search_store.reconcile_pending(ctx.db)
    counts = await store.count_by_status(ctx.db)
    for status in ListingStatus:
        LISTING_METRICS.by_status.labels(status.value).set(counts.get(status.value, 0))


def _size_search_cache(ctx: ServiceContext) -> None:
    settings = ctx.settings
    assert isinstance(settings, TradingSettings)
    search_store.configure_cache(settings.search_cache_mb)


def _every(settings: TradingSettings) -> float:
    return settings.catalogue_sweep_seconds


# Both passes scan the listings on FerretDB (tens of seconds at 100,000): a budget of their own, not
# the client's socket timeout, or the round would never finish on a large catalogue.
CATALOGUE_ROUND = BackgroundTask("catalogue-round", catalogue_round, _every, prepare=_size_search_cache,
                                 budget_seconds=300.0)
