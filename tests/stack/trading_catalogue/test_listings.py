"""Listings through the real trading API, registry and worker: lifecycle, authorisation, bad input."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient

from tests.stack.trading_catalogue.support import (
    create_listing,
    listing_body,
    participant,
    publish,
    register_organisation,
    search,
    trading,
    unique_word,
)
from tests.support.stack import new_credit_code

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]
Services = dict[str, ManagedProcess]


def test_lifecycle_draft_published_withdrawn(services: Services, test_profile: Profile) -> None:
    owner = register_organisation(test_profile)
    headers = participant(test_profile, owner)
    word = unique_word()
    draft = create_listing(test_profile, headers, title=f"石墨烯导热膜 {word}")
    assert draft["status"] == "draft" and draft["version"] == 1
    assert draft["owner_organisation_id"] == owner
    url = trading(test_profile, f"/v1/listings/{draft['id']}")
    assert httpx.get(url).status_code == 404, "a draft is private"
    own = httpx.get(url, headers=headers)
    assert own.status_code == 200 and own.headers["ETag"] == '"1"'
    assert search(test_profile, q=word)["items"] == []

    publish_url = f"{url}/publish"
    assert httpx.post(publish_url, headers=headers).status_code == 428
    assert httpx.post(publish_url, headers={**headers, "If-Match": '"9"'}).status_code == 412
    published = publish(test_profile, headers, draft)
    assert published["status"] == "published" and published["version"] == 2 and published["published_at"]
    public = httpx.get(url)
    assert public.status_code == 200 and public.json()["status"] == "published"
    assert [i["id"] for i in search(test_profile, q=word)["items"]] == [draft["id"]]
    assert [i["id"] for i in search(test_profile, q="石墨烯导热")["items"] if i["id"] == draft["id"]]

    again = httpx.post(publish_url, headers={**headers, "If-Match": '"2"'})
    assert again.status_code == 409 and again.json()["type"].endswith("not-a-draft")

    edited = httpx.patch(url, json={"price_fen": 1_000}, headers={**headers, "If-Match": '"2"'})
    assert edited.status_code == 200 and edited.json()["price_fen"] == 1_000 and edited.json()["version"] == 3
    assert search(test_profile, q=word, price_max=1_000)["items"][0]["id"] == draft["id"]

    withdrawn = httpx.post(f"{url}/withdraw", headers={**headers, "If-Match": '"3"'})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert httpx.get(url).status_code == 404
    assert search(test_profile, q=word)["items"] == []
    assert httpx.post(publish_url, headers={**headers, "If-Match": '"4"'}).status_code == 409


def test_only_owner_or_agent_changes_a_listing(services: Services, test_profile: Profile) -> None:
    owner, agent, other = (register_organisation(test_profile) for _ in range(3))
    owner_h, agent_h, other_h = (participant(test_profile, o) for o in (owner, agent, other))
    draft = create_listing(test_profile, owner_h, agent_organisation_id=agent)
    url = trading(test_profile, f"/v1/listings/{draft['id']}")
    # Someone else's draft does not exist for them, whatever they try.
    assert httpx.get(url, headers=other_h).status_code == 404
    assert httpx.patch(url, json={"title": "Mine now"}, headers={**other_h, "If-Match": '"1"'}).status_code == 404
    assert httpx.post(f"{url}/publish", headers={**other_h, "If-Match": '"1"'}).status_code == 404
    assert httpx.post(f"{url}/withdraw", headers={**other_h, "If-Match": '"1"'}).status_code == 404
    # The named agent acts for the owner.
    assert httpx.get(url, headers=agent_h).status_code == 200
    published = publish(test_profile, agent_h, draft)
    # Published: everyone reads it, still nobody else changes it.
    assert httpx.get(url, headers=other_h).status_code == 200
    stale_free = {**other_h, "If-Match": f'"{published["version"]}"'}
    response = httpx.patch(url, json={"title": "Mine now"}, headers=stale_free)
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert httpx.get(url).json()["title"] == draft["title"]
    # Mine lists the owner's and the agent's listings, not the other's.
    mine = httpx.get(trading(test_profile, "/v1/listings/mine"), headers=agent_h).json()["items"]
    assert draft["id"] in [m["id"] for m in mine]
    assert draft["id"] not in [m["id"] for m in httpx.get(trading(test_profile, "/v1/listings/mine"),
                                                           headers=other_h).json()["items"]]


def test_who_may_list(services: Services, test_profile: Profile) -> None:
    url = trading(test_profile, "/v1/listings")
    assert httpx.post(url, json=listing_body()).status_code == 401
    no_org = httpx.post(url, json=listing_body(), headers=participant(test_profile, None, "someone"))
    assert no_org.status_code == 403 and no_org.json()["type"].endswith("no-organisation")
    number = listing_body()["application_number"]
    unknown = httpx.post(url, json=listing_body(application_number=number),
                         headers=participant(test_profile, "91210200MA0QTEXT0X"))
    assert unknown.status_code == 403 and unknown.json()["type"].endswith("organisation-not-active")
    no_agent = httpx.post(url, json=listing_body(application_number=number, agent_organisation_id=new_credit_code()),
                          headers=participant(test_profile, register_organisation(test_profile)))
    assert no_agent.status_code == 422 and no_agent.json()["type"].endswith("agent-not-active")
    # The organisations are read while the patent's document is (listings.service.create): nothing was
    # written before they were refused, not even the patent's pointer at a new listing.
    from trading.patents.identifiers import normalise_application_number
    from trading.patents.store import COLLECTION as PATENTS

    patent_id = normalise_application_number(number)
    client: MongoClient[dict[str, Any]] = MongoClient(test_profile.mongo_url)
    with client:
        patents = client[f"trading_{test_profile.name}"][PATENTS]
        assert patents.find_one({"_id": patent_id}) is None
        created = create_listing(test_profile, participant(test_profile, register_organisation(test_profile)),
                                 application_number=number)
        assert (patents.find_one({"_id": patent_id}) or {}).get("open_listing_id") == created["id"]


def test_expired_patent_cannot_be_published(services: Services, test_profile: Profile) -> None:
    owner = register_organisation(test_profile)
    headers = participant(test_profile, owner)
    draft = create_listing(test_profile, headers, expires_on=(date.today() - timedelta(days=1)).isoformat())
    response = httpx.post(trading(test_profile, f"/v1/listings/{draft['id']}/publish"),
                          headers={**headers, "If-Match": '"1"'})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("patent-expired") and "expired" in problem["detail"]
    assert problem["errors"][0]["pointer"] == "#/expires_on"
    assert httpx.get(trading(test_profile, f"/v1/listings/{draft['id']}"), headers=headers).json()["status"] == "draft"


@pytest.mark.parametrize(
    ("overrides", "pointer", "detail_part"),
    [
        ({"application_number": "202110123456.0"}, "#/application_number", "check character"),
        ({"application_number": "202170123456.1"}, "#/application_number", "type digit"),
        ({"application_number": "12345"}, "#/application_number", "looks like"),
        ({"ipc_codes": ["H01M 10/0525", "Z99Q"]}, "#/ipc_codes/1", "not an IPC code"),
        ({"region_code": "990000"}, "#/region_code", "province"),
        ({"patent_kind": "design", "locarno_classes": ["12-16"]}, "#/patent_kind", "type digit says invention"),
        ({"deal_types": ["open_licence", "exclusive_licence"], "open_licence_terms": "3% of sales"},
         "#/deal_types", "open licence"),
        ({"deal_types": ["open_licence"]}, "#/open_licence_terms", "published royalty terms"),
        ({"price_fen": 12.5}, "#/price_fen", "integer"),
        ({"colour": "red"}, "#/colour", "unknown field"),
    ],
)
def test_bad_input_is_a_problem_with_a_pointer(services: Services, test_profile: Profile, mongo: Mongo,
                                               overrides: dict[str, Any], pointer: str, detail_part: str) -> None:
    owner = register_organisation(test_profile)
    listings = mongo[f"trading_{test_profile.name}"]["listings"]
    before = listings.count_documents({"owner_organisation_id": owner})
    response = httpx.post(trading(test_profile, "/v1/listings"), json=listing_body(**overrides),
                          headers=participant(test_profile, owner))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    matching = [e for e in response.json()["errors"] if e.get("pointer") == pointer]
    assert matching and detail_part in matching[0]["detail"], response.json()
    assert listings.count_documents({"owner_organisation_id": owner}) == before


def test_idempotency_key_creates_one_listing(services: Services, test_profile: Profile) -> None:
    owner = register_organisation(test_profile)
    headers = {**participant(test_profile, owner), "Idempotency-Key": f"list-{unique_word()}"}
    body = listing_body()
    first = httpx.post(trading(test_profile, "/v1/listings"), json=body, headers=headers)
    again = httpx.post(trading(test_profile, "/v1/listings"), json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = httpx.post(trading(test_profile, "/v1/listings"), json=listing_body(), headers=headers)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")


def test_catalogue_metrics_are_exposed(services: Services, test_profile: Profile) -> None:
    owner = register_organisation(test_profile)
    headers = participant(test_profile, owner)
    publish(test_profile, headers, create_listing(test_profile, headers))
    text = httpx.get(trading(test_profile, "/metrics")).text
    published = [line for line in text.splitlines() if line.startswith("trading_listings_published_total ")]
    assert published and float(published[0].split()[1]) >= 1
    # The gauge by status is refreshed from the store in the background (at start-up, then periodically).
    assert all(f'trading_listings{{status="{s}"}}' in text
               for s in ("draft", "published", "under_negotiation", "closed", "withdrawn"))


def test_seam_functions_for_the_deals_code(services: Services, test_profile: Profile) -> None:
    """listings.store as the deals code calls it (same database, in process): terms, open-licence check,
    close, move to a new owner; the public API and the search follow."""
    import asyncio

    from pymongo import AsyncMongoClient
    from trading.listings import store
    from trading.patents import store as patent_store

    owner, buyer = register_organisation(test_profile), register_organisation(test_profile)
    headers = participant(test_profile, owner)
    word = unique_word()
    open_one = publish(test_profile, headers, create_listing(
        test_profile, headers, title=f"开放许可 {word}", deal_types=["open_licence", "ordinary_licence"],
        open_licence_terms="3% of net sales"))
    number = open_one["application_number"]
    sold = publish(test_profile, headers, create_listing(test_profile, headers, title=f"转让 {word}",
                                                         deal_types=["assignment"]))

    async def scenario() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(test_profile.mongo_url, tz_aware=True)
        db = client[f"trading_{test_profile.name}"]
        terms = await store.listing_terms(db, open_one["id"])
        assert terms is not None and terms.application_number == number and terms.owner_organisation_id == owner
        assert terms.price_fen == 50_000_000 and terms.expires_on.isoformat() == open_one["expires_on"]
        assert await store.listing_terms(db, "lst-nothing") is None
        # Publishing the open-licence offer declared the open licence on the patent's document.
        patent = await patent_store.get(db, number)
        assert patent is not None and patent["open_licence"]["listing_id"] == open_one["id"]
        other = await patent_store.get(db, sold["application_number"])
        assert other is not None and other["open_licence"] is None
        await store.close_listing(db, sold["id"])
        await store.close_listing(db, sold["id"])  # a no-op the second time
        closed = await store.listing_terms(db, sold["id"])
        assert closed is not None and closed.status.value == "closed" and closed.version == sold["version"] + 1
        assert await store.move_to_owner(db, [sold["id"]], buyer) == 1
        assert await store.move_to_owner(db, [sold["id"]], buyer) == 0
        await client.close()

    asyncio.run(scenario())
    assert [i["id"] for i in search(test_profile, q=word)["items"]] == [open_one["id"]], "closed left the search"
    assert httpx.get(trading(test_profile, f"/v1/listings/{sold['id']}")).status_code == 404, "closed is private"
    moved = httpx.get(trading(test_profile, f"/v1/listings/{sold['id']}"), headers=participant(test_profile, buyer))
    assert moved.status_code == 200 and moved.json()["owner_organisation_id"] == buyer
