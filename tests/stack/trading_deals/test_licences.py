"""Licences through the real API: every exclusivity conflict refused naming the licence it conflicts
with, a race of two signings, recordal with its deadline and overdue list, royalty reports."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from pymongo import MongoClient
from trading.negotiations.store import SIGNINGS

from tests.stack.trading_deals.conftest import Cast
from tests.stack.trading_deals.support import (
    accepted_negotiation,
    application_number,
    if_match,
    licence_from,
    officer,
    party,
    published_listing,
    sign,
    terms,
    url,
)
from tests.support.stack import eventually

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]
EX, SOLE, ORD = "exclusive_licence", "sole_licence", "ordinary_licence"

# (first licence, second licence's scope changes, second licence, refused?)
CASES = [
    pytest.param(EX, {}, EX, True, id="exclusive-over-exclusive"),
    pytest.param(EX, {}, SOLE, True, id="sole-over-exclusive"),
    pytest.param(SOLE, {}, EX, True, id="exclusive-over-sole"),
    pytest.param(SOLE, {}, SOLE, True, id="sole-over-sole"),
    pytest.param(EX, {}, ORD, True, id="ordinary-inside-exclusive"),
    pytest.param(SOLE, {}, ORD, True, id="ordinary-inside-sole"),
    pytest.param(ORD, {}, EX, True, id="exclusive-over-ordinary"),
    pytest.param(ORD, {}, ORD, False, id="ordinary-beside-ordinary"),
    pytest.param(EX, {"territories": ("220000",)}, EX, False, id="exclusive-other-province"),
    pytest.param(EX, {"territories": ("210200",)}, EX, True, id="exclusive-city-inside-province"),
    pytest.param(EX, {"territories": ("CN",)}, ORD, True, id="ordinary-all-china-over-province"),
    pytest.param(EX, {"fields": ("H01L",)}, EX, False, id="exclusive-other-field"),
    pytest.param(EX, {"fields": ("H01M 10/0525",)}, ORD, True, id="ordinary-subgroup-inside-exclusive"),
    pytest.param(EX, {"start": "2030-01-01", "end": "2031-12-31"}, EX, False, id="exclusive-later-term"),
    pytest.param(EX, {"start": "2029-12-31", "end": "2031-12-31"}, SOLE, True, id="sole-sharing-one-day"),
]


@pytest.mark.parametrize(("first_type", "second_scope", "second_type", "refused"), CASES)
def test_licence_conflicts_are_refused_naming_the_licence(
    cast: Cast, test_profile: Profile, mongo: Mongo, first_type: str, second_scope: dict[str, Any],
    second_type: str, refused: bool,
) -> None:
    listing = published_listing(test_profile, cast.owner)
    first = licence_from(test_profile, cast.owner, cast.buyer, listing, terms(first_type))
    assert first.status_code == 201, first.text
    first_id = first.json()["id"]

    negotiation = accepted_negotiation(test_profile, cast.owner, cast.rival, listing,
                                       terms(second_type, **second_scope))
    second = sign(test_profile, cast.rival, negotiation)
    if not refused:
        assert second.status_code == 201, second.text
        return
    assert second.status_code == 409, second.text
    assert second.headers["content-type"] == "application/problem+json"
    problem = second.json()
    assert problem["type"].endswith("/licence-conflict")
    assert problem["conflicting_licence_id"] == first_id
    assert problem["conflicting_licence"] == f"/v1/licences/{first_id}"
    assert first_id in problem["detail"]
    # Nothing changed: the negotiation is still only accepted, and the patent carries one licence.
    again = httpx.get(url(test_profile, f"/v1/negotiations/{negotiation['id']}"),
                      headers=party(test_profile, cast.rival))
    assert again.json()["status"] == "accepted" and again.json()["deal"] is None
    markers = mongo[f"trading_{test_profile.name}"][SIGNINGS]
    assert markers.find_one({"_id": negotiation["id"]}) is None, "a refused signing leaves nothing to resume"
    on_patent = httpx.get(url(test_profile, "/v1/licences"), headers=officer(test_profile),
                          params={"application_number": listing["application_number"]})
    assert [lic["id"] for lic in on_patent.json()["items"]] == [first_id]


def test_an_open_licensed_patent_carries_no_exclusive_licence(cast: Cast, test_profile: Profile) -> None:
    """Refused when the exclusive offer is made, not at signing after both sides agreed (issue 11)."""
    number = application_number()
    published_listing(test_profile, cast.owner, number=number, deal_types=("open_licence",),
                      open_licence_terms="3% of net sales, no upfront fee")
    body = {"application_number": number, "patent_kind": "invention", "title": "锂离子电池隔膜",
            "ipc_codes": ["H01M 10/0525"], "industry": "new_energy", "region_code": "210200",
            "legal_status": "granted", "filing_date": "2022-03-01", "deal_types": ["exclusive_licence"]}
    offered = httpx.post(url(test_profile, "/v1/listings"), json=body, headers=party(test_profile, cast.owner))
    assert offered.status_code == 409, offered.text
    assert offered.json()["type"].endswith("/open-licence-excludes-exclusive")
    assert "open licence" in offered.json()["detail"]


def test_two_signings_racing_on_one_patent_grant_one_licence(cast: Cast, test_profile: Profile) -> None:
    listing = published_listing(test_profile, cast.owner)
    negotiations = [accepted_negotiation(test_profile, cast.owner, buyer, listing, terms(EX))
                    for buyer in (cast.buyer, cast.rival)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda pair: sign(test_profile, *pair),
                                [(cast.buyer, negotiations[0]), (cast.rival, negotiations[1])]))
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 201).json()["id"]
    loser = next(r for r in results if r.status_code == 409).json()
    assert loser["conflicting_licence_id"] == winner


def test_an_interrupted_signing_is_completed_by_the_sweep(cast: Cast, test_profile: Profile, mongo: Mongo) -> None:
    """A signing that crashed after its marker (and perhaps after reserving the licence's scope in the
    patent's register) and was never retried: the deals sweep completes it as the request would have."""
    listing = published_listing(test_profile, cast.owner)
    negotiation = accepted_negotiation(test_profile, cast.owner, cast.buyer, listing, terms(EX))
    signed_on = (date.today() - timedelta(days=2)).isoformat()
    markers = mongo[f"trading_{test_profile.name}"][SIGNINGS]
    # The marker a signing leaves before it starts (in a collection of its own, so writing it here cannot
    # race the API's writes of the negotiation), as a request that then crashed would have left it.
    markers.insert_one({"_id": negotiation["id"], "signed_on": signed_on,
                        "since": datetime.now(UTC) - timedelta(minutes=2), "by": cast.buyer})
    def signed() -> dict[str, Any] | None:
        body: dict[str, Any] = httpx.get(url(test_profile, f"/v1/negotiations/{negotiation['id']}"),
                                         headers=party(test_profile, cast.buyer)).json()
        return body if body["status"] == "signed" else None

    seen = eventually(signed, timeout=30, interval=0.5, what="the deals sweep to complete the interrupted signing")
    assert seen["status"] == "signed" and seen["deal"]["kind"] == "licence", seen
    assert "signing" not in seen, "bookkeeping stays internal"
    licence = httpx.get(url(test_profile, seen["deal"]["href"]), headers=party(test_profile, cast.owner))
    assert licence.status_code == 200 and licence.json()["signed_on"] == signed_on
    assert markers.find_one({"_id": negotiation["id"]}) is None, "the completed signing's marker is gone"
    # A retry of the original request now gets the same licence.
    retry = sign(test_profile, cast.buyer, negotiation)
    assert retry.status_code == 200 and retry.json()["id"] == seen["deal"]["id"], retry.text
    rival = licence_from(test_profile, cast.owner, cast.rival, listing, terms(EX))
    assert rival.status_code == 409 and rival.json()["conflicting_licence_id"] == seen["deal"]["id"]


def test_signing_twice_returns_the_same_licence(cast: Cast, test_profile: Profile, mongo: Mongo) -> None:
    listing = published_listing(test_profile, cast.owner)
    negotiation = accepted_negotiation(test_profile, cast.owner, cast.buyer, listing, terms(ORD))
    first = sign(test_profile, cast.buyer, negotiation)
    again = sign(test_profile, cast.owner, negotiation)  # the old ETag: a retry of the same signing
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert mongo[f"trading_{test_profile.name}"]["licences"].count_documents(
        {"negotiation_id": negotiation["id"]}) == 1
    # The owner keeps the patent and may license it further: the listing is back in the search.
    assert httpx.get(url(test_profile, f"/v1/listings/{listing['id']}")).json()["status"] == "published"


def test_recordal_pending_filed_recorded_and_overdue_visible(cast: Cast, test_profile: Profile) -> None:
    listing = published_listing(test_profile, cast.owner)
    four_months_ago = (date.today() - timedelta(days=125)).isoformat()
    negotiation = accepted_negotiation(test_profile, cast.owner, cast.buyer, listing, terms(ORD))
    signed = sign(test_profile, cast.owner, negotiation, signed_on=four_months_ago)
    assert signed.status_code == 201, signed.text
    licence_url = url(test_profile, signed.json()["href"])
    licence = httpx.get(licence_url, headers=party(test_profile, cast.owner)).json()
    assert licence["recordal"]["status"] == "overdue" and licence["recordal"]["overdue"] is True
    assert licence["recordal"]["deadline"] < date.today().isoformat()

    overdue = httpx.get(url(test_profile, "/v1/licences"), params={"recordal": "overdue", "limit": 100},
                        headers=officer(test_profile)).json()["items"]
    assert licence["id"] in [lic["id"] for lic in overdue]
    mine = httpx.get(url(test_profile, "/v1/licences"), params={"recordal": "overdue", "limit": 100},
                     headers=party(test_profile, cast.buyer)).json()["items"]
    assert licence["id"] in [lic["id"] for lic in mine]
    theirs = httpx.get(url(test_profile, "/v1/licences"), params={"recordal": "overdue", "limit": 100},
                       headers=party(test_profile, cast.outsider)).json()["items"]
    assert licence["id"] not in [lic["id"] for lic in theirs]
    assert httpx.get(licence_url, headers=party(test_profile, cast.outsider)).status_code == 404

    # Recorded before filed: refused; a party may file, only an officer records.
    skip = httpx.post(f"{licence_url}/recordal", json={"status": "recorded"},
                      headers={**officer(test_profile), **if_match(licence)})
    assert skip.status_code == 409 and "pending -> filed -> recorded" in skip.json()["detail"]
    assert httpx.post(f"{licence_url}/recordal", json={"status": "filed"},
                      headers=party(test_profile, cast.owner)).status_code == 428
    filed = httpx.post(f"{licence_url}/recordal", json={"status": "filed", "reference": "BA2026-0001"},
                       headers={**party(test_profile, cast.owner), **if_match(licence)})
    assert filed.status_code == 200, filed.text
    assert filed.json()["recordal"]["status"] == "filed" and filed.json()["recordal"]["overdue"] is False
    stale = httpx.post(f"{licence_url}/recordal", json={"status": "recorded"},
                       headers={**officer(test_profile), **if_match(licence)})
    assert stale.status_code == 412
    by_party = httpx.post(f"{licence_url}/recordal", json={"status": "recorded"},
                          headers={**party(test_profile, cast.buyer), **if_match(filed.json())})
    assert by_party.status_code == 403
    recorded = httpx.post(f"{licence_url}/recordal", json={"status": "recorded"},
                          headers={**officer(test_profile), **if_match(filed.json())})
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["recordal"]["status"] == "recorded"
    overdue_after = httpx.get(url(test_profile, "/v1/licences"), params={"recordal": "overdue", "limit": 100},
                              headers=officer(test_profile)).json()["items"]
    assert licence["id"] not in [lic["id"] for lic in overdue_after]


def test_royalty_reports_per_period(cast: Cast, test_profile: Profile) -> None:
    listing = published_listing(test_profile, cast.owner)
    last_year = date.today().year - 1
    signed = licence_from(test_profile, cast.owner, cast.buyer, listing,
                          terms(ORD, start=f"{last_year}-01-01", end=f"{last_year + 3}-12-31", rate="2.5"))
    assert signed.status_code == 201, signed.text
    reports_url = url(test_profile, f"{signed.json()['href']}/royalty-reports")
    body = {"period": f"{last_year}-Q3", "net_sales_fen": 123_456_789}
    by_licensor = httpx.post(reports_url, json=body, headers=party(test_profile, cast.owner))
    assert by_licensor.status_code == 403
    first = httpx.post(reports_url, json=body, headers=party(test_profile, cast.buyer))
    assert first.status_code == 201, first.text
    assert first.json()["royalty_due_fen"] == 3_086_420  # 2.5% of 1,234,567.89 yuan, half-up to the fen
    again = httpx.post(reports_url, json=body, headers=party(test_profile, cast.buyer))
    assert again.status_code == 200 and again.json() == first.json()
    changed = httpx.post(reports_url, json={**body, "net_sales_fen": 1}, headers=party(test_profile, cast.buyer))
    assert changed.status_code == 409 and changed.json()["existing_report_id"] == first.json()["id"]
    future = httpx.post(reports_url, json={"period": f"{last_year + 2}-01", "net_sales_fen": 5},
                        headers=party(test_profile, cast.buyer))
    assert future.status_code == 422 and future.json()["errors"][0]["pointer"] == "#/period"
    listed = httpx.get(reports_url, headers=party(test_profile, cast.owner)).json()
    assert [r["period"] for r in listed["items"]] == [f"{last_year}-Q3"]
    assert listed["total_royalty_due_fen"] == 3_086_420
    assert httpx.get(reports_url, headers=party(test_profile, cast.outsider)).status_code == 404
