"""Fairs through the real API: planning, opening, exhibitors and listings shown; deals made at the
fair counted in its live statistics; the deal events on Kafka carrying `fair_id`; the deal metrics."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta

import httpx
import pytest
from devstack.layout import Profile
from trading.negotiations.deals import TALLIED_AGGREGATES

from tests.stack.trading_deals.conftest import Cast
from tests.stack.trading_deals.support import (
    Json,
    accepted_negotiation,
    exhibit,
    if_match,
    in_days,
    officer,
    open_negotiation,
    party,
    plan_fair,
    published_listing,
    register_organisation,
    sign,
    terms,
    trading_events,
    url,
)
from tests.support.stack import eventually
from tests.support.tallies import tallies_against_documents

pytestmark = pytest.mark.stack

PREFIX = "cn.ipo.ln.trading."


def test_planning_a_fair_is_for_staff_with_sane_dates(cast: Cast, test_profile: Profile) -> None:
    today = date.today()
    body = {"name": "Liaoning Patent Fair", "venue": "Shenyang International Exhibition Center",
            "region_code": "210100", "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=2)).isoformat()}
    assert httpx.post(url(test_profile, "/v1/fairs"), json=body,
                      headers=party(test_profile, cast.owner)).status_code == 403
    backwards = httpx.post(url(test_profile, "/v1/fairs"), json={**body, "ends_on": "2020-01-01"},
                           headers=officer(test_profile))
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["pointer"] == "#/ends_on"
    key = {"Idempotency-Key": "plan-liaoning-fair-" + today.isoformat() + cast.owner}
    first = httpx.post(url(test_profile, "/v1/fairs"), json=body, headers={**officer(test_profile), **key})
    again = httpx.post(url(test_profile, "/v1/fairs"), json=body, headers={**officer(test_profile), **key})
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    fair = first.json()
    assert fair["status"] == "planned"
    # A planned fair is not where deals are made.
    listing = published_listing(test_profile, cast.owner)
    early = open_negotiation(test_profile, cast.buyer, listing, terms(), fair_id=fair["id"])
    assert early.status_code == 422 and early.json()["errors"][0]["pointer"] == "#/fair_id"
    closing = httpx.post(url(test_profile, f"/v1/fairs/{fair['id']}/closing"),
                         headers={**officer(test_profile), **if_match(fair)})
    assert closing.status_code == 409 and "only an open fair" in closing.json()["detail"]
    # Public: the calendar and the fair itself.
    assert httpx.get(url(test_profile, f"/v1/fairs/{fair['id']}")).status_code == 200


def test_deals_at_a_fair_move_its_statistics_events_and_metrics(cast: Cast, test_profile: Profile) -> None:
    bank = register_organisation(test_profile, "210200", "Bank of Dalian")
    fair = plan_fair(test_profile)
    licensed = published_listing(test_profile, cast.owner)
    sold = published_listing(test_profile, cast.owner)
    pledged = published_listing(test_profile, cast.rival)
    stranger_shows = httpx.post(url(test_profile, f"/v1/fairs/{fair['id']}/exhibits"),
                                json={"listing_id": licensed["id"]}, headers=party(test_profile, cast.outsider))
    assert stranger_shows.status_code == 422
    not_exhibiting = httpx.post(url(test_profile, f"/v1/fairs/{fair['id']}/exhibits"),
                                json={"listing_id": licensed["id"]}, headers=party(test_profile, cast.owner))
    assert not_exhibiting.status_code == 409
    exhibit(test_profile, fair, cast.owner, licensed, sold)
    shown = exhibit(test_profile, fair, cast.owner, licensed)  # showing twice changes nothing
    assert [s["listing_id"] for s in shown["shown_listings"]] == sorted([licensed["id"], sold["id"]])
    assert shown["exhibitors"] == [cast.owner]

    # An exclusive licence negotiated over two offers, and an assignment, registered: both at the fair.
    opened = open_negotiation(test_profile, cast.buyer, licensed, terms(fee=2_000_000), fair_id=fair["id"]).json()
    countered = httpx.post(url(test_profile, f"/v1/negotiations/{opened['id']}/offers"),
                           json={"terms": terms(fee=3_000_000), "valid_until": in_days(2)},
                           headers={**party(test_profile, cast.owner), **if_match(opened)}).json()
    accepted = httpx.post(url(test_profile, f"/v1/negotiations/{opened['id']}/acceptance"),
                          headers={**party(test_profile, cast.buyer), **if_match(countered)}).json()
    licence = sign(test_profile, cast.buyer, accepted)
    assert licence.status_code == 201, licence.text
    assignment = accepted_negotiation(test_profile, cast.owner, cast.rival, sold, terms("assignment", fee=90_000_000),
                                      fair_id=fair["id"])
    transfer = sign(test_profile, cast.rival, assignment)
    assert transfer.status_code == 201, transfer.text
    transfer_doc = httpx.get(url(test_profile, transfer.json()["href"]), headers=officer(test_profile)).json()
    registered = httpx.post(url(test_profile, f"{transfer.json()['href']}/registration"),
                            headers={**officer(test_profile), **if_match(transfer_doc)})
    assert registered.status_code == 200, registered.text
    # A pledge arranged at the fair with a bank.
    pledge = httpx.post(url(test_profile, "/v1/pledges"), headers=party(test_profile, cast.rival),
                        json={"listing_id": pledged["id"], "pledgee_organisation_id": bank,
                              "amount_fen": 40_000_000, "fair_id": fair["id"]}).json()
    pledge_registered = httpx.post(url(test_profile, f"/v1/pledges/{pledge['id']}/registration"),
                                   headers={**officer(test_profile), **if_match(pledge)})
    assert pledge_registered.status_code == 200, pledge_registered.text

    figures = httpx.get(url(test_profile, f"/v1/fairs/{fair['id']}/statistics")).json()  # public
    assert figures["exhibitors"] == 1 and figures["listings_shown"] == 2
    assert figures["negotiations"] == 2 and figures["offers"] == 3 and figures["offers_accepted"] == 2
    assert figures["licences"] == {"count": 1, "amount_fen": 3_000_000}
    assert figures["licences_by_type"] == {"exclusive_licence": {"count": 1, "amount_fen": 3_000_000}}
    assert figures["transfers"] == {"count": 1, "amount_fen": 90_000_000}
    assert figures["pledges"] == {"count": 1, "amount_fen": 40_000_000}
    assert figures["total_amount_fen"] == 133_000_000

    current = httpx.get(url(test_profile, f"/v1/fairs/{fair['id']}")).json()
    closed = httpx.post(url(test_profile, f"/v1/fairs/{fair['id']}/closing"),
                        headers={**officer(test_profile), **if_match(current)})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    # Every deal event of the fair is on trading.events with its fair_id.
    def of_fair() -> list[Json] | None:
        events = trading_events(test_profile)
        mine = [e for e in events if e["data"].get("fair_id") == fair["id"]]
        wanted = {"offer.made.v1", "offer.accepted.v1", "licence.signed.v1", "transfer.registered.v1",
                  "pledge.registered.v1", "fair.opened.v1", "fair.closed.v1"}
        return mine if wanted <= {str(e["type"]).removeprefix(PREFIX) for e in mine} else None

    events = eventually(of_fair, timeout=30, interval=0.5, what="the fair's events on trading.events")
    by_type: dict[str, int] = {}
    for event in events:
        kind = str(event["type"]).removeprefix(PREFIX)
        by_type[kind] = by_type.get(kind, 0) + 1
    assert by_type["offer.made.v1"] == 3 and by_type["offer.accepted.v1"] == 2
    closing_event = next(e for e in events if e["type"] == f"{PREFIX}fair.closed.v1")
    assert closing_event["subject"] == fair["id"]
    assert closing_event["data"]["licences"] == 1 and closing_event["data"]["total_amount_fen"] == 133_000_000
    signed_event = next(e for e in events if e["type"] == f"{PREFIX}licence.signed.v1")
    assert signed_event["subject"] == licence.json()["id"]
    assert signed_event["data"]["royalty_rate_percent"] == "3.5"  # Decimal as a string, never a float

    # The deal metrics, per fair too, once a recount has seen every deal of the fair (one that ran while
    # the deals were being made shows part of them); `promtool check metrics` is clean.
    def fair_metrics() -> str | None:
        text = httpx.get(url(test_profile, "/metrics")).text
        final = (f'trading_fair_deals{{deal="licences",fair_id="{fair["id"]}"}} 1.0',
                 f'trading_fair_deal_amount_yuan{{deal="transfers",fair_id="{fair["id"]}"}} 900000.0')
        return text if all(line in text for line in final) else None

    text = eventually(fair_metrics, timeout=20, interval=0.5, what="per-fair metrics after a sweep")
    for series in ('trading_offers_made_total{deal_type="exclusive_licence"}',
                   'trading_licences_signed_total{licence_type="exclusive_licence"}',
                   "trading_transfers_registered_total", "trading_pledges_registered_total",
                   'trading_licences{licence_type="exclusive_licence"}', "trading_licence_recordals_overdue",
                   "trading_pledges_active", "trading_pledged_amount_yuan",
                   f'trading_fair_deal_amount_yuan{{deal="transfers",fair_id="{fair["id"]}"}} 900000.0',
                   f'trading_fair_listings_shown{{fair_id="{fair["id"]}"}} 2.0'):
        assert series in text, series
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package, which `make test` installs"
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_the_deal_tallies_equal_what_the_deals_contribute(cast: Cast, test_profile: Profile) -> None:
    """Runs after this module's fairs and deals: every count a gauge or a fair's statistics read was kept
    with the deals' changes, and equals a recount from the deals themselves."""
    stored, recounted = await tallies_against_documents(test_profile.mongo_url, f"trading_{test_profile.name}",
                                                        TALLIED_AGGREGATES)
    assert any(tally_id.startswith("fair:") for tally_id in recounted)  # the module made deals at fairs
    assert stored == recounted
