"""Negotiations through the real API: the two parties only, offer and counter-offer, answers,
expiry, optimistic concurrency, idempotent retries, precise errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from pymongo import MongoClient

from tests.stack.trading_deals.conftest import Cast
from tests.stack.trading_deals.support import (
    if_match,
    in_days,
    open_negotiation,
    party,
    published_listing,
    register_organisation,
    terms,
    url,
)
from tests.support.stack import eventually

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]


def listing_status(profile: Profile, listing_id: str) -> str:
    status: str = httpx.get(url(profile, f"/v1/listings/{listing_id}")).json()["status"]
    return status


def test_only_the_two_parties_see_a_negotiation(cast: Cast, test_profile: Profile) -> None:
    agent = register_organisation(test_profile, "210200", "Liaoning Patent Agency Co., Ltd.")
    listing = published_listing(test_profile, cast.owner, agent_organisation_id=agent)
    opened = open_negotiation(test_profile, cast.buyer, listing, terms())
    assert opened.status_code == 201, opened.text
    negotiation = opened.json()
    assert negotiation["status"] == "open" and negotiation["your_side"] == "counterparty"
    assert opened.headers["Location"] == f"/v1/negotiations/{negotiation['id']}"
    path = url(test_profile, f"/v1/negotiations/{negotiation['id']}")

    for organisation, side in ((cast.owner, "owner"), (agent, "owner"), (cast.buyer, "counterparty")):
        seen = httpx.get(path, headers=party(test_profile, organisation))
        assert seen.status_code == 200 and seen.json()["your_side"] == side
        listed = httpx.get(url(test_profile, "/v1/negotiations"), headers=party(test_profile, organisation))
        assert negotiation["id"] in [n["id"] for n in listed.json()["items"]]

    # A third participant learns nothing: 404 on reading and on every action, absent from its list.
    third = party(test_profile, cast.outsider)
    assert httpx.get(path, headers=third).status_code == 404
    for action in ("acceptance", "rejection", "withdrawal"):
        refused = httpx.post(f"{path}/{action}", headers={**third, **if_match(negotiation)})
        assert refused.status_code == 404, action
    countered = httpx.post(f"{path}/offers", json={"terms": terms(), "valid_until": in_days(3)},
                           headers={**third, **if_match(negotiation)})
    assert countered.status_code == 404
    assert httpx.post(f"{path}/signature", headers={**third, **if_match(negotiation)}).status_code == 404
    listed = httpx.get(url(test_profile, "/v1/negotiations"), headers=third).json()["items"]
    assert negotiation["id"] not in [n["id"] for n in listed]
    # Staff without the organisation do not see it either; a participant token without `org` is refused.
    officer = {"Authorization": httpx.Headers(party(test_profile, None))["Authorization"]}
    assert httpx.get(path, headers=officer).status_code == 403
    assert httpx.get(path).status_code == 401
    # The listing left the search while negotiated.
    assert listing_status(test_profile, listing["id"]) == "under_negotiation"


def test_offer_counter_offer_and_acceptance(cast: Cast, test_profile: Profile, mongo: Mongo) -> None:
    listing = published_listing(test_profile, cast.owner)
    negotiation = open_negotiation(test_profile, cast.buyer, listing, terms(fee=1_000_000)).json()
    path = url(test_profile, f"/v1/negotiations/{negotiation['id']}")
    owner, buyer = party(test_profile, cast.owner), party(test_profile, cast.buyer)

    # The side that made the current offer cannot answer it itself.
    own = httpx.post(f"{path}/acceptance", headers={**buyer, **if_match(negotiation)})
    assert own.status_code == 409 and "offer is yours" in own.json()["detail"]
    # Updates need If-Match; a stale one is refused.
    assert httpx.post(f"{path}/offers", json={"terms": terms(), "valid_until": in_days(2)},
                      headers=owner).status_code == 428
    counter_body = {"terms": terms(fee=3_000_000, rate="4.25"), "valid_until": in_days(2)}
    key = {"Idempotency-Key": f"counter-{negotiation['id']}"}
    countered = httpx.post(f"{path}/offers", json=counter_body, headers={**owner, **if_match(negotiation), **key})
    assert countered.status_code == 200, countered.text
    after_counter = countered.json()
    assert len(after_counter["offers"]) == 2 and after_counter["current_offer"]["made_by"] == "owner"
    assert after_counter["current_offer"]["terms"]["royalty_rate_percent"] == "4.25"
    assert countered.headers["ETag"] == '"2"'
    # The same request retried (same key, same body) applies nothing twice.
    retried = httpx.post(f"{path}/offers", json=counter_body, headers={**owner, **if_match(negotiation), **key})
    assert retried.status_code == 200 and len(retried.json()["offers"]) == 2
    reused = httpx.post(f"{path}/offers", json={**counter_body, "valid_until": in_days(3)},
                        headers={**owner, **if_match(negotiation), **key})
    assert reused.status_code == 422 and reused.json()["type"].endswith("idempotency-key-reused")
    stale = httpx.post(f"{path}/acceptance", headers={**buyer, **if_match(negotiation)})
    assert stale.status_code == 412

    accepted = httpx.post(f"{path}/acceptance", headers={**buyer, **if_match(after_counter)})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    late = httpx.post(f"{path}/offers", json=counter_body, headers={**owner, **if_match(accepted.json())})
    assert late.status_code == 409 and "accepted" in late.json()["detail"]
    doc = mongo[f"trading_{test_profile.name}"]["negotiations"].find_one({"_id": negotiation["id"]})
    assert doc is not None and doc["offer_count"] == 2


def test_idempotency_key_opens_one_negotiation(cast: Cast, test_profile: Profile, mongo: Mongo) -> None:
    listing = published_listing(test_profile, cast.owner)
    headers = {"Idempotency-Key": f"open-{listing['id']}"}
    until = in_days(5)
    first = open_negotiation(test_profile, cast.buyer, listing, terms(), valid_until=until, headers=headers)
    again = open_negotiation(test_profile, cast.buyer, listing, terms(), valid_until=until, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert mongo[f"trading_{test_profile.name}"]["negotiations"].count_documents({"listing_id": listing["id"]}) == 1


@pytest.mark.parametrize(("change", "pointer", "detail"), [
    ({"terms": {"territories": ["21000"]}}, "#/terms/territories/0", "GB/T 2260"),
    ({"terms": {"fields_of_use": ["battery"]}}, "#/terms/fields_of_use/0", "IPC symbol"),
    ({"terms": {"royalty_rate_percent": "101"}}, "#/terms/royalty_rate_percent", "less than or equal"),
    ({"terms": {"upfront_fee_fen": 12.5}}, "#/terms/upfront_fee_fen", "integer"),
    ({"terms": {"deal_type": "open_licence"}}, "#/terms/deal_type", "by notice"),
    ({"terms": {"term_end": "2099-01-01"}}, "#/terms/term_end", "cannot outlast"),
    ({"terms": {"term_end": "2026-01-01"}}, "#/terms/term_end", "before it starts"),
    ({"terms": {"term_start": None}}, "#/terms/term_start", "first day"),
    ({"valid_until": "2020-01-01T00:00:00Z"}, "#/valid_until", "future"),
    ({"fair_id": "FAIR-nope"}, "#/fair_id", "open now"),
    ({"colour": "red"}, "#/colour", "unknown field"),
])
def test_bad_offers_get_a_precise_problem_and_change_nothing(
    cast: Cast, test_profile: Profile, mongo: Mongo, change: dict[str, Any], pointer: str, detail: str,
) -> None:
    listing = published_listing(test_profile, cast.owner, deal_types=("exclusive_licence",))
    body: dict[str, Any] = {"listing_id": listing["id"], "terms": terms(), "valid_until": in_days(3)}
    for key, value in change.items():
        body[key] = {**body[key], **value} if isinstance(value, dict) else value
    response = httpx.post(url(test_profile, "/v1/negotiations"), json=body, headers=party(test_profile, cast.buyer))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert any(e.get("pointer") == pointer and detail in e["detail"] for e in errors), errors
    assert mongo[f"trading_{test_profile.name}"]["negotiations"].count_documents({"listing_id": listing["id"]}) == 0
    assert listing_status(test_profile, listing["id"]) == "published"


def test_a_deal_type_the_listing_does_not_offer_and_offers_to_oneself_are_refused(cast: Cast,
                                                                                test_profile: Profile) -> None:
    listing = published_listing(test_profile, cast.owner, deal_types=("ordinary_licence",))
    wrong = open_negotiation(test_profile, cast.buyer, listing, terms("sole_licence"))
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["pointer"] == "#/terms/deal_type"
    own = open_negotiation(test_profile, cast.owner, listing, terms("ordinary_licence"))
    assert own.status_code == 422 and own.json()["errors"][0]["pointer"] == "#/listing_id"


def test_rejection_and_withdrawal_end_it_and_reopen_the_listing(cast: Cast, test_profile: Profile) -> None:
    listing = published_listing(test_profile, cast.owner)
    owner, buyer = party(test_profile, cast.owner), party(test_profile, cast.buyer)
    first = open_negotiation(test_profile, cast.buyer, listing, terms()).json()
    second = open_negotiation(test_profile, cast.rival, listing, terms()).json()
    rejected = httpx.post(url(test_profile, f"/v1/negotiations/{first['id']}/rejection"),
                          headers={**owner, **if_match(first)})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    # Another negotiation is still open: the listing stays under negotiation.
    assert listing_status(test_profile, listing["id"]) == "under_negotiation"
    not_theirs = httpx.post(url(test_profile, f"/v1/negotiations/{second['id']}/withdrawal"),
                            headers={**owner, **if_match(second)})
    assert not_theirs.status_code == 409 and "made the current offer" in not_theirs.json()["detail"]
    withdrawn = httpx.post(url(test_profile, f"/v1/negotiations/{second['id']}/withdrawal"),
                           headers={**party(test_profile, cast.rival), **if_match(second)})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert listing_status(test_profile, listing["id"]) == "published"
    assert httpx.post(url(test_profile, f"/v1/negotiations/{first['id']}/acceptance"),
                      headers={**buyer, **if_match(rejected.json())}).status_code == 409


def test_a_lapsed_offer_expires_on_read_and_by_the_sweep(cast: Cast, test_profile: Profile) -> None:
    listing = published_listing(test_profile, cast.owner)
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    on_read = open_negotiation(test_profile, cast.buyer, listing, terms(), valid_until=soon).json()
    by_sweep = open_negotiation(test_profile, cast.rival, listing, terms(), valid_until=soon).json()
    time.sleep(2.5)
    # Acting on a lapsed offer: refused, because expiry is applied first.
    late = httpx.post(url(test_profile, f"/v1/negotiations/{on_read['id']}/acceptance"),
                      headers={**party(test_profile, cast.owner), **if_match(on_read)})
    assert late.status_code == 409 and "expired" in late.json()["detail"]
    # Nobody reads the other one: the sweep expires it and the listing returns to the search.
    eventually(lambda: listing_status(test_profile, listing["id"]) == "published", timeout=20,
               what="the sweep to expire the last open negotiation and reopen the listing")
    swept = httpx.get(url(test_profile, f"/v1/negotiations/{by_sweep['id']}"),
                      headers=party(test_profile, cast.rival)).json()
    assert swept["status"] == "expired"
