from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings


class TradingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRADING_", extra="ignore", frozen=True)

    service_name: str = "trading"
    # How often the API expires lapsed offers and completes interrupted signings, from their markers, and
    # how often it recomputes the deal gauges from the deals (trading.negotiations.sweep).
    deals_sweep_seconds: float = 5.0
    deal_gauges_seconds: float = 30.0
    # The catalogue indexer (trading.listings.indexer) runs on every listing change; this is how often it
    # also looks for markers a crash left behind (one read of the small marker collection).
    search_index_seconds: float = 5.0
    # Each indexer batch files its new postings as one segment document (trading.listings.search_store);
    # the segment folder merges the live segments into the terms' heads once they hold this many
    # listings, or once no segment has been added for `search_fold_idle_seconds`.
    search_fold_listings: int = 1000
    search_fold_idle_seconds: float = 5.0
    # After each group of its store calls, a fold pauses for this share of the time the group took, so
    # requests find the store (and the cores) free between them (search_store, `_fold_rest`); 0: no pause.
    search_fold_rest: float = Field(default=1.0, ge=0)
    # And after each pause it waits while the API is serving more than this many requests, so its store
    # calls fall between the requests' bursts (search_store, `_yield_to_requests`); 0: it never waits.
    search_fold_yield_above: int = Field(default=2, ge=0)
    # The folder's merges and writes run in a process of their own beside the API's, at this much lower a
    # priority (`nice`), so that they do not share the API's event loop with the requests
    # (trading.listings.fold_process); False: in the API's process.
    search_fold_process: bool = True
    search_fold_nice: int = Field(default=10, ge=0, le=19)
    # A diagnostic, off when empty: both processes append the time of each step of every fold to this
    # file (trading.listings.fold_trace; the publish benchmark sets it with --timeline).
    search_fold_trace_file: str = ""
    # A fold writes a term's head only once the live segments hold this many of its postings; a rarer
    # term's wait in the carry segment for a later fold (search_store, "batch segments"). 1: nothing waits.
    search_carry_below: int = Field(default=8, ge=1)
    # Per-process cache of the search read model (0 = off). The API, whose indexer is the one writer of
    # the read model, knows its own changes at once; it reads the generation counter (what another
    # writer's change would have moved) at most this often, instead of once per search.
    search_cache_mb: int = 64
    search_cache_check_seconds: float = 0.25
