"""The catalogue's domain metrics (prefix `trading_`, counters ending in `_total`).

`trading_listings{status}` is a gauge refreshed from the store every few seconds by the API (so it is
right after a restart and across processes); the counters count what this process did.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge


@dataclass(frozen=True)
class ListingMetrics:
    by_status: Gauge
    created: Counter
    published: Counter
    withdrawn: Counter
    import_rows: Counter
    demands_posted: Counter
    searches: Counter


@dataclass(frozen=True)
class MatchMetrics:
    suggested: Counter


def _listing_metrics() -> ListingMetrics:
    return ListingMetrics(
        by_status=Gauge("trading_listings", "Listings in the store, by status (counted by the indexer)", ["status"]),
        created=Counter("trading_listings_created_total", "Listings created (as drafts) by this process"),
        published=Counter("trading_listings_published_total", "Listings published by this process"),
        withdrawn=Counter("trading_listings_withdrawn_total", "Listings withdrawn by this process"),
        import_rows=Counter("trading_listing_import_rows_total", "CSV import rows, by outcome", ["outcome"]),
        demands_posted=Counter("trading_demands_posted_total", "Technology demands posted by this process"),
        searches=Counter("trading_listing_searches_total", "Listing searches answered"),
    )


LISTING_METRICS = _listing_metrics()
MATCH_METRICS = MatchMetrics(
    suggested=Counter("trading_matches_suggested_total", "Match suggestions recorded by this worker"),
)
