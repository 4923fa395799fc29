from __future__ import annotations

from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings


class TradingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRADING_", extra="ignore", frozen=True)

    service_name: str = "trading"
    # How often the API expires lapsed offers and recomputes the deal gauges (trading.negotiations.sweep).
    deals_sweep_seconds: float = 5.0
    # How often the API repairs search postings a crash left pending and refreshes trading_listings{status}
    # (both scan the listings collection on FerretDB: some 20 s of its CPU at 100,000 listings, so every
    # two minutes; the `trading_listings_*_total` counters move live in between).
    catalogue_sweep_seconds: float = 120.0
    # Per-process cache of the search read model, validated by one generation read per search (0 = off).
    search_cache_mb: int = 64
