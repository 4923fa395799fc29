"""The demo dataset loads through the APIs and, loaded again, creates nothing twice."""

from __future__ import annotations

import httpx
import pytest
from devstack import demo
from devstack.layout import Profile
from devstack.processes import ManagedProcess

from tests.stack.trading_catalogue.support import indexed, participant
from tests.support.stack import api_url

pytestmark = pytest.mark.stack


def test_demo_data_loads_once(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    first = demo.load(test_profile, listings=16, talents=6, report=lambda _: None)
    again = demo.load(test_profile, listings=16, talents=6, report=lambda _: None)
    assert first["listings"] == 16 and first["published"] == 16 and first["talents"] == 6
    # Every kind was created by the first run (a database left over from an earlier run would make this
    # fail: the session's stack is fresh), and none by the second.
    assert all(first[kind] for kind in demo.KINDS if kind != "organisations"), first
    assert again == dict.fromkeys(demo.KINDS, 0)

    trading, publicity = api_url(test_profile, "trading"), api_url(test_profile, "publicity")
    owner = demo.ORGANISATIONS[0].code
    mine = httpx.get(f"{trading}/v1/listings/mine", headers=participant(test_profile, owner),
                     timeout=15).json()["items"]
    # The demo organisations are the demo users' too, so the portal's tests may have listed more of theirs.
    def plain(number: str) -> str:  # the loader writes the check digit after a dot, the API answers without
        return number.replace(".", "")

    loaded = {plain(body["application_number"]) for org, body in demo.listing_bodies(16) if org.code == owner}
    assert len(loaded) == 2  # 16 listings over 8 owners
    assert {plain(item["application_number"]): item["status"] for item in mine
            if plain(item["application_number"]) in loaded} == dict.fromkeys(loaded, "published")
    indexed(test_profile)
    found = httpx.get(f"{trading}/v1/listings", params={"q": "锂离子电池"}, timeout=15)
    assert found.status_code == 200 and found.json()["items"]
    # The matchmaker suggested listings for the needs (the loader waits for them); each once.
    matches = httpx.get(f"{trading}/v1/matches", headers=participant(test_profile, demo.ORGANISATIONS[1].code),
                        timeout=15).json()["items"]
    assert matches and len({m["id"] for m in matches}) == len(matches)
    # The public sees the two published releases, not the scheduled one nor the draft (other tests of the
    # session may have published releases and made campaigns of their own: only the demo's are checked).
    public = {r["title"] for r in httpx.get(f"{publicity}/v1/public/releases", timeout=15).json()["items"]}
    demo_titles = {title: state for _, _, state, title, _, _ in demo.publicity.RELEASES}
    assert {t for t in demo_titles if t in public} == {t for t, state in demo_titles.items() if state == "published"}
    campaigns = [c for c in httpx.get(f"{publicity}/v1/campaigns", timeout=15).json()["items"]
                 if c["name"] == demo.publicity.CAMPAIGN["name"]]
    assert len(campaigns) == 1
    events = httpx.get(f"{publicity}/v1/events", params={"campaign_id": campaigns[0]["id"]}, timeout=15).json()
    assert len(events["items"]) == len(demo.publicity.EVENTS)
