"""End to end, through the real processes, broker and store: two organisations registered in the
registry, a patent claimed and the claim verified by an IPO officer, the patent listed, a demand
posted, the match seen by both, a negotiation at a fair, an exclusive licence signed and recorded,
and the fair's statistics read."""

from __future__ import annotations

import random
import string
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess

from tests.stack.trading_deals.support import (
    application_number,
    exhibit,
    if_match,
    in_days,
    officer,
    party,
    plan_fair,
    published_listing,
    register_organisation,
    sign,
    terms,
    trading_events,
    url,
)
from tests.support.patents import claim, verify
from tests.support.stack import eventually

# The journeys also check that nothing on their path scans a collection (servicekit.store_audit).
pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("store_scans_checked")]


def matches_for(profile: Profile, organisation: str, **params: str) -> list[dict[str, Any]]:
    response = httpx.get(url(profile, "/v1/matches"), params=params, headers=party(profile, organisation))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_from_registration_to_a_recorded_exclusive_licence_at_a_fair(services: dict[str, ManagedProcess],
                                                                     test_profile: Profile) -> None:
    # 1. Two organisations register with the registry; trading learns of them through Kafka.
    university = register_organisation(test_profile, "210200", "Dalian University of Technology")
    maker = register_organisation(test_profile, "210100", "Shenyang Power Battery Co., Ltd.")
    word = "zq" + "".join(random.choice(string.ascii_lowercase) for _ in range(10))

    # 2. The university claims its patent with its certificate; an IPO officer finds the claim in the
    #    queue and verifies it against the register. Only then may the university publish a listing.
    number = application_number()
    claimed = claim(test_profile, university, f"ZL{number}")
    assert claimed.status_code == 201 and claimed.json()["verified"] is False, claimed.text
    queue = httpx.get(url(test_profile, "/v1/patents/claim-queue"), headers=officer(test_profile)).json()
    assert university in next(i for i in queue["items"] if i["application_number"] == claimed.json()[
        "application_number"])["claimants"]
    verified = verify(test_profile, university, number)
    assert verified.status_code == 200 and verified.json()["owner_organisation_id"] == university, verified.text

    # 3. The university lists its patent; the maker posts what it needs; the worker matches them.
    fair = plan_fair(test_profile, "China International Patent Technology and Products Fair (journey)")
    listing = published_listing(test_profile, university, number=number, title=f"锂离子电池隔膜的制备方法 {word}",
                                deal_types=("exclusive_licence", "ordinary_licence"), price_fen=500_000_000)
    exhibit(test_profile, fair, university, listing)
    demand = httpx.post(url(test_profile, "/v1/demands"), headers=party(test_profile, maker),
                        json={"title": f"寻求动力电池隔膜技术 {word}", "ipc_codes": ["H01M"],
                              "keywords": ["隔膜", word], "region_code": "210000", "deal_types": ["exclusive_licence"],
                              "budget_max_fen": 800_000_000})
    assert demand.status_code == 201, demand.text
    match = eventually(lambda: [m for m in matches_for(test_profile, maker, demand_id=demand.json()["id"])
                                if m["listing_id"] == listing["id"]], timeout=30,
                       what="the match suggested to the maker")[0]
    assert match["demand_id"] == demand.json()["id"] and match["score"] > 0
    # The university sees the same suggestion (other tests' open demands may match its listing too).
    assert match["id"] in [m["id"] for m in matches_for(test_profile, university, listing_id=listing["id"])]

    # 4. They negotiate at the fair: offer, counter-offer, acceptance.
    opened = httpx.post(url(test_profile, "/v1/negotiations"), headers=party(test_profile, maker),
                        json={"listing_id": match["listing_id"], "fair_id": fair["id"], "valid_until": in_days(3),
                              "terms": terms("exclusive_licence", territories=("210000",), fee=300_000_000,
                                             rate="2.0")})
    assert opened.status_code == 201, opened.text
    countered = httpx.post(url(test_profile, f"/v1/negotiations/{opened.json()['id']}/offers"),
                           headers={**party(test_profile, university), **if_match(opened.json())},
                           json={"terms": terms("exclusive_licence", territories=("210000",), fee=420_000_000,
                                                rate="3.0"), "valid_until": in_days(3)})
    assert countered.status_code == 200, countered.text
    accepted = httpx.post(url(test_profile, f"/v1/negotiations/{opened.json()['id']}/acceptance"),
                          headers={**party(test_profile, maker), **if_match(countered.json())})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"

    # 5. The exclusive licence is signed, filed and recorded.
    signed = sign(test_profile, university, accepted.json())
    assert signed.status_code == 201, signed.text
    licence_url = url(test_profile, signed.json()["href"])
    licence = httpx.get(licence_url, headers=party(test_profile, maker)).json()
    assert licence["licence_type"] == "exclusive_licence" and licence["fair_id"] == fair["id"]
    assert licence["upfront_fee_fen"] == 420_000_000 and licence["royalty_rate_percent"] == "3.0"
    assert licence["recordal"]["status"] == "pending"
    filed = httpx.post(f"{licence_url}/recordal", json={"status": "filed", "reference": "BA-2026-210000-0042"},
                       headers={**party(test_profile, university), **if_match(licence)})
    assert filed.status_code == 200, filed.text
    recorded = httpx.post(f"{licence_url}/recordal", json={"status": "recorded"},
                          headers={**officer(test_profile), **if_match(filed.json())})
    assert recorded.status_code == 200 and recorded.json()["recordal"]["status"] == "recorded"

    # 6. The fair's statistics show the deal; the events went out through the outbox.
    figures = httpx.get(url(test_profile, f"/v1/fairs/{fair['id']}/statistics")).json()
    assert figures["listings_shown"] == 1 and figures["negotiations"] == 1 and figures["offers"] == 2
    assert figures["licences"] == {"count": 1, "amount_fen": 420_000_000}

    def journey_events() -> list[str] | None:
        events = trading_events(test_profile)
        subjects = {listing["id"], demand.json()["id"], opened.json()["id"], licence["id"], match["id"],
                    listing["application_number"]}
        types = [str(e["type"]).rsplit(".trading.", 1)[1] for e in events if e["subject"] in subjects]
        wanted = {"patent.ownership_claimed.v1", "patent.ownership_verified.v1", "listing.published.v1",
                  "demand.posted.v1", "match.suggested.v1", "offer.made.v1", "offer.accepted.v1",
                  "licence.signed.v1", "licence.recorded.v1"}
        return types if wanted <= set(types) else None

    types = eventually(journey_events, timeout=30, interval=0.5, what="the journey's events on trading.events")
    assert types.count("licence.signed.v1") == 1 and types.count("offer.made.v1") == 2
