"""Prometheus metrics of trading's deals, for operators and the programme's figures.

Counters count what this API process did since it started (Prometheus' rate() copes with restarts).
Gauges that describe the current state (recordals overdue, pledges in force, per-fair figures) are
computed from the store by the deals sweep, so they are right whichever process did the work and
after any restart. They are created on first use, which only the API process does, so the worker
does not export a misleading zero.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from prometheus_client import REGISTRY, Counter, Gauge
from servicekit.mongo import Database

from trading.fairs import statistics as fair_statistics
from trading.fairs import store as fair_store
from trading.licences import store as licence_store
from trading.pledges import store as pledge_store

PREFIX = "trading"


@dataclass(frozen=True)
class DealMetrics:
    offers_made: Counter
    offers_accepted: Counter
    licences_signed: Counter
    transfers_registered: Counter
    pledges_registered: Counter
    pledges_released: Counter
    licences: Gauge
    recordals_overdue: Gauge
    pledges_active: Gauge
    pledged_amount: Gauge
    fair_deals: Gauge
    fair_amount: Gauge
    fair_listings_shown: Gauge


_made: list[DealMetrics] = []
_closed_refreshed: dict[str, float] = {}
CLOSED_FAIR_REFRESH_SECONDS = 60.0


def deal_metrics() -> DealMetrics:
    if not _made:
        p = PREFIX
        _made.append(DealMetrics(
            offers_made=Counter(f"{p}_offers_made_total", "Offers and counter-offers made", ["deal_type"],
                                registry=REGISTRY),
            offers_accepted=Counter(f"{p}_offers_accepted_total", "Offers accepted", ["deal_type"], registry=REGISTRY),
            licences_signed=Counter(f"{p}_licences_signed_total", "Licences signed", ["licence_type"],
                                    registry=REGISTRY),
            transfers_registered=Counter(f"{p}_transfers_registered_total", "Transfers (assignments) registered",
                                         registry=REGISTRY),
            pledges_registered=Counter(f"{p}_pledges_registered_total", "Pledges registered", registry=REGISTRY),
            pledges_released=Counter(f"{p}_pledges_released_total", "Pledges released", registry=REGISTRY),
            licences=Gauge(f"{p}_licences", "Licences on record, by type", ["licence_type"], registry=REGISTRY),
            recordals_overdue=Gauge(f"{p}_licence_recordals_overdue",
                                    "Licences not filed for recordal within 3 months of signature", registry=REGISTRY),
            pledges_active=Gauge(f"{p}_pledges_active", "Pledges registered and not released", registry=REGISTRY),
            pledged_amount=Gauge(f"{p}_pledged_amount_yuan", "Loan amount secured by pledges in force, CNY",
                                 registry=REGISTRY),
            fair_deals=Gauge(f"{p}_fair_deals", "Deals at a fair: offers, licences, transfers, pledges",
                             ["fair_id", "deal"], registry=REGISTRY),
            fair_amount=Gauge(f"{p}_fair_deal_amount_yuan", "Amounts of a fair's deals, CNY", ["fair_id", "deal"],
                              registry=REGISTRY),
            fair_listings_shown=Gauge(f"{p}_fair_listings_shown", "Listings shown at a fair", ["fair_id"],
                                      registry=REGISTRY),
        ))
    return _made[0]


def _yuan(fen: int) -> float:
    return float(Decimal(fen) / 100)


async def refresh(db: Database) -> None:
    """Recompute the state gauges from the store (called by the deals sweep)."""
    metrics = deal_metrics()
    by_type = await licence_store.count_by_type(db)
    for licence_type in ("exclusive_licence", "sole_licence", "ordinary_licence"):
        metrics.licences.labels(licence_type).set(by_type.get(licence_type, 0))
    metrics.recordals_overdue.set(await licence_store.count_overdue(db, datetime.now(UTC).date()))
    count, amount = await pledge_store.active_totals(db)
    metrics.pledges_active.set(count)
    metrics.pledged_amount.set(_yuan(amount))
    for fair_id in await fair_store.all_ids(db):
        # A closed fair's figures seldom move (only deals negotiated there and signed later): once a minute.
        last = _closed_refreshed.get(fair_id)
        if last is not None and time.monotonic() - last < CLOSED_FAIR_REFRESH_SECONDS:
            continue
        fair = await fair_store.get(db, fair_id)
        if fair is None:
            continue
        if fair["status"] == "closed":
            _closed_refreshed[fair_id] = time.monotonic()
        figures = await fair_statistics.statistics(db, fair)
        metrics.fair_listings_shown.labels(fair_id).set(figures["listings_shown"])
        metrics.fair_deals.labels(fair_id, "offers").set(figures["offers"])
        for deal in ("licences", "transfers", "pledges"):
            metrics.fair_deals.labels(fair_id, deal).set(figures[deal]["count"])
            metrics.fair_amount.labels(fair_id, deal).set(_yuan(figures[deal]["amount_fen"]))
