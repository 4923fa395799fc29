"""Publicity's domain metrics. Gauges are set by the API's background task from the store (so they
are right after a restart); counters and the lateness histogram as things happen. Only the API process
creates them: a worker serving zeros for these would mislead a sum."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

LATENESS_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


@dataclass(frozen=True)
class Gauges:
    releases: Gauge
    drafts_awaiting_review: Gauge
    overdue: Gauge
    forced_unapproved: Gauge
    campaign_items: Gauge
    campaign_fair_deals: Gauge
    campaign_fair_amount: Gauge
    campaign_registrations: Gauge
    campaign_check_ins: Gauge
    campaign_reach: Gauge


@functools.cache
def gauges() -> Gauges:
    return Gauges(
        releases=Gauge("publicity_releases", "Releases (press releases and news) by the state of their working "
                       "edition", ["kind", "state"]),
        drafts_awaiting_review=Gauge("publicity_drafts_awaiting_review",
                                     "Drafts (incl. milestone news) and submitted editions waiting for an officer",
                                     ["kind"]),
        overdue=Gauge("publicity_releases_overdue", "Scheduled releases whose embargo has passed but which are "
                      "not published yet"),
        forced_unapproved=Gauge("publicity_releases_forced_unapproved",
                                "Force-published releases awaiting another officer's approval"),
        campaign_items=Gauge("publicity_campaign_items", "Items on a campaign's page", ["campaign_id", "kind"]),
        campaign_fair_deals=Gauge("publicity_campaign_fair_deals",
                                  "Deals signed at the closed fairs of a campaign (licences, transfers, pledges)",
                                  ["campaign_id"]),
        campaign_fair_amount=Gauge("publicity_campaign_fair_deal_amount_yuan",
                                   "Deal amounts at the closed fairs of a campaign", ["campaign_id"]),
        campaign_registrations=Gauge("publicity_campaign_registrations",
                                     "Confirmed places at a campaign's public events", ["campaign_id"]),
        campaign_check_ins=Gauge("publicity_campaign_check_ins", "Check-ins at a campaign's public events",
                                 ["campaign_id"]),
        campaign_reach=Gauge("publicity_campaign_reach", "Reach reported by a campaign's activities",
                             ["campaign_id", "channel"]),
    )


@functools.cache
def _changes() -> Counter:
    return Counter("publicity_release_changes_total", "Publications and withdrawals of releases, by action",
                   ["action"])


def release_changed(action: str) -> None:
    _changes().labels(action).inc()


@functools.cache
def publish_lateness() -> Histogram:
    return Histogram("publicity_release_publish_lateness_seconds",
                     "From a scheduled release's embargo to its publication", buckets=LATENESS_BUCKETS)


def export(_ctx: object) -> None:
    gauges()
    publish_lateness()
    _changes()
    _registrations()
    _scans()


@functools.cache
def _registrations() -> Counter:
    return Counter("publicity_event_registrations_total",
                   "Registration changes for public events (confirmed, waitlisted, cancelled, promoted)", ["outcome"])


def registration(outcome: str) -> None:
    _registrations().labels(outcome).inc()


@functools.cache
def _scans() -> Counter:
    return Counter("publicity_checkin_scans_total", "Check-in scans by outcome", ["outcome"])


def scan(outcome: str) -> None:
    _scans().labels(outcome).inc()
