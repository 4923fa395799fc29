"""Integration events about demands (trading.events)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload

from trading.listings.domain import DealType


class DemandPosted(EventPayload):
    """An organisation posted a technology need; the trading worker matches it against listings."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.trading.demand.posted.v1"

    demand_id: str
    organisation_id: str
    title: str
    ipc_codes: list[str]
    keywords: list[str]
    region_code: str | None
    deal_types: list[DealType] | None
    budget_max_fen: int | None
    version: int
    occurred_at: datetime
