"""Integration events publicity publishes about campaigns (topic publicity.events, key = campaign id)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from servicekit.events.envelope import EVENT_TYPE_PREFIX, EventPayload


class CampaignEvent(EventPayload):
    campaign_id: str
    name: str
    theme: str
    starts_on: date
    ends_on: date
    organisers: list[str]
    occurred_at: datetime


class CampaignOpened(CampaignEvent):
    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.publicity.campaign.opened.v1"


class CampaignClosed(CampaignEvent):
    """The campaign closed, with its final figures."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.publicity.campaign.closed.v1"

    fairs: int
    fair_deals: int
    fair_deal_amount_fen: int
