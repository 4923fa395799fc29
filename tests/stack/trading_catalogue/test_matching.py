"""Demands and matchmaking: the worker scores the other side when a listing is published or a demand
posted, records each match once and publishes match.suggested; only the two parties see it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient

from tests.stack.trading_catalogue.support import (
    create_listing,
    participant,
    publish,
    register_organisation,
    trading,
    unique_word,
)
from tests.support.kafka import consumed, publish_records
from tests.support.outbox import all_sent
from tests.support.stack import eventually

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]
Services = dict[str, ManagedProcess]


def matches(profile: Profile, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = httpx.get(trading(profile, "/v1/matches"), headers=headers, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def duplicates(profile: Profile) -> float:
    """The worker's count of demand.posted events it found already handled."""
    text = httpx.get(f"http://127.0.0.1:{profile.ports.worker('trading')}/metrics").text
    wanted = 'trading_events_consumed_total{outcome="duplicate",type="cn.ipo.ln.trading.demand.posted.v1"}'
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(wanted))


def post_demand(profile: Profile, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = httpx.post(trading(profile, "/v1/demands"), json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_listing_published_after_demand_is_matched_for_both_parties_only(
    services: Services, test_profile: Profile, mongo: Mongo,
) -> None:
    seller, buyer, stranger = (register_organisation(test_profile) for _ in range(3))
    seller_h, buyer_h, stranger_h = (participant(test_profile, o) for o in (seller, buyer, stranger))
    word = unique_word()
    demand = post_demand(test_profile, buyer_h, title=f"寻求动力电池隔膜技术 {word}", ipc_codes=["H01M"],
                         keywords=["隔膜", word], region_code="210000", deal_types=["exclusive_licence"],
                         budget_max_fen=100_000_000)
    assert demand["status"] == "open" and demand["organisation_id"] == buyer
    assert httpx.get(trading(test_profile, f"/v1/demands/{demand['id']}"), headers=stranger_h).status_code == 404
    listing = publish(test_profile, seller_h,
                      create_listing(test_profile, seller_h, title=f"锂离子电池隔膜 {word}"))
    # An unrelated listing by the same seller is not suggested.
    rice = publish(test_profile, seller_h, create_listing(test_profile, seller_h, title=f"水稻育种 {word}x",
                                                          ipc_codes=["A01H 1/02"], abstract=""))

    def ours() -> list[dict[str, Any]]:
        return [m for m in matches(test_profile, buyer_h, demand_id=demand["id"]) if m["listing_id"] == listing["id"]]

    # (Other tests' battery listings may match this demand too: that is right, so only ours is checked.)
    found = eventually(ours, timeout=30, what="the match for the buyer")
    assert len(found) == 1
    match = found[0]
    assert rice["id"] not in [m["listing_id"] for m in matches(test_profile, buyer_h, demand_id=demand["id"])]
    assert match["score"] >= 40 and any("H01M" in r for r in match["reasons"])
    seller_sees = matches(test_profile, seller_h, listing_id=listing["id"])  # other tests' demands may match too
    assert [m["id"] for m in seller_sees if m["demand_id"] == demand["id"]] == [match["id"]]
    assert matches(test_profile, stranger_h) == []
    assert httpx.get(trading(test_profile, f"/v1/matches/{match['id']}"), headers=stranger_h).status_code == 404
    assert httpx.get(trading(test_profile, f"/v1/matches/{match['id']}"), headers=buyer_h).status_code == 200

    # Recorded once, and its event published through the outbox.
    db = mongo[f"trading_{test_profile.name}"]
    assert db["matches"].count_documents({"listing_id": listing["id"], "demand_id": demand["id"]}) == 1
    # The worker's relay publishes it at once (the store announces the write); its sweep runs every 30 s,
    # so a short wait shows the announcement works.
    eventually(lambda: all_sent(db, "matches", match["id"]), timeout=10,
               interval=0.2, what="match.suggested published by the worker's relay")


def test_demand_posted_after_listing_is_matched(services: Services, test_profile: Profile) -> None:
    seller, buyer = register_organisation(test_profile), register_organisation(test_profile, "210100")
    seller_h, buyer_h = participant(test_profile, seller), participant(test_profile, buyer)
    word = unique_word()
    listing = publish(test_profile, seller_h, create_listing(
        test_profile, seller_h, title=f"焊接机器人轨迹控制 {word}", ipc_codes=["B25J 9/16"], abstract="",
        industry="equipment_manufacturing", deal_types=["ordinary_licence"]))
    demand = post_demand(test_profile, buyer_h, title=f"机器人焊接 {word}", ipc_codes=["B25J 9"],
                         keywords=["焊接机器人"])
    found = eventually(lambda: [m for m in matches(test_profile, buyer_h, demand_id=demand["id"])
                                if m["listing_id"] == listing["id"]], timeout=30, what="the match for the demand")
    assert len(found) == 1  # (other tests' robot listings may match too: right, but not checked here)
    assert matches(test_profile, seller_h, listing_id=listing["id"])[0]["demand_id"] == demand["id"]


def test_redelivered_events_suggest_each_match_once(services: Services, test_profile: Profile, mongo: Mongo) -> None:
    """Re-publish the demand's posted event as Kafka would redeliver it: nothing new appears."""
    import asyncio

    seller, buyer = register_organisation(test_profile), register_organisation(test_profile)
    seller_h, buyer_h = participant(test_profile, seller), participant(test_profile, buyer)
    word = unique_word()
    valve = publish(test_profile, seller_h, create_listing(test_profile, seller_h, title=f"高压阀门密封 {word}",
                                                           ipc_codes=["F16K 1/42"], abstract=""))
    demand = post_demand(test_profile, buyer_h, title=f"阀门密封 {word}", ipc_codes=["F16K"], keywords=[word])
    eventually(lambda: [m for m in matches(test_profile, buyer_h, demand_id=demand["id"])
                        if m["listing_id"] == valve["id"]], timeout=30, what="the first match")
    db = mongo[f"trading_{test_profile.name}"]
    # Let the original run finish (other tests' valve listings may match this demand too): once the worker has
    # committed trading.events up to its end, the demand's event has been handled.
    consumed(test_profile, "trading-worker", "trading.events")
    before = db["matches"].count_documents({"demand_id": demand["id"]})
    duplicates_before = duplicates(test_profile)

    # The demand's event as it went out (the relay removed it from the outbox; rebuild the same record).
    from servicekit.events.envelope import CloudEvent
    from trading.demands.events import DemandPosted

    payload = DemandPosted(demand_id=demand["id"], organisation_id=buyer, title=demand["title"],
                           ipc_codes=demand["ipc_codes"], keywords=demand["keywords"], region_code=None,
                           deal_types=None, budget_max_fen=None, version=1, occurred_at=demand["posted_at"])
    event = CloudEvent.new("/ipo/trading", demand["id"], payload)

    record = (demand["id"].encode(), event.to_record_value())
    asyncio.run(publish_records(test_profile, "trading.events", [record, record]))
    eventually(lambda: db["match_runs"].find_one({"_id": event.id}), timeout=30, what="the redelivery handled")
    eventually(lambda: duplicates(test_profile) > duplicates_before, what="the second copy counted as duplicate")
    assert db["matches"].count_documents({"demand_id": demand["id"], "listing_id": valve["id"]}) == 1
    assert db["matches"].count_documents({"demand_id": demand["id"]}) == before, "nothing suggested twice"
    assert len([m for m in matches(test_profile, buyer_h, demand_id=demand["id"])
                if m["listing_id"] == valve["id"]]) == 1
