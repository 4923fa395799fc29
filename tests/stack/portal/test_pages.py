"""The portal's pages over the real APIs (development tokens; the sign-in through Keycloak is tested in
test_identity.py): Chinese first, English by choice, amounts in yuan, API refusals beside the field."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from devstack.layout import Profile

from tests.stack.portal.conftest import browser, csrf_of, signed_in
from tests.stack.trading_catalogue.support import (
    application_number,
    create_listing,
    indexed,
    participant,
    publish,
    register_organisation,
    unique_word,
)
from tests.support.patents import verified_owner
from tests.support.stack import eventually

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def published(portal: str, test_profile: Profile) -> dict[str, Any]:
    word = unique_word()
    owner = register_organisation(test_profile, "210200")
    headers = participant(test_profile, owner)
    listing = publish(test_profile, headers, create_listing(
        test_profile, headers, title=f"锂离子电池隔膜 {word}", price_fen=12_345_600, region_code="210200",
        deal_types=["exclusive_licence"], ipc_codes=["H01M 10/0525"]))
    return {"word": word, "owner": owner, "listing": listing}


def test_home_page_is_chinese_first_with_a_switch_to_english(portal: str) -> None:
    with browser(portal, language="") as client:
        page = client.get("/")
        assert page.status_code == 200
        assert '<html lang="zh-CN">' in page.text
        assert "知识产权公共服务平台" in page.text
        switch = re.search(r'href="(/language\?[^"]+)"', page.text)
        assert switch is not None
        moved = client.get(switch.group(1).replace("&amp;", "&"), follow_redirects=True)
        assert '<html lang="en">' in moved.text
        assert "IP services portal" in moved.text


def test_visitor_searches_in_chinese_and_opens_a_listing(portal: str, published: dict[str, Any]) -> None:
    with browser(portal) as client:
        results = client.get("/listings", params={"q": published["word"], "region": "210000",
                                                  "deal_type": "exclusive_licence", "price_min": "100000"})
        assert results.status_code == 200, results.text
        listing = published["listing"]
        assert f'href="/listings/{listing["id"]}"' in results.text
        assert "¥123,456.00" in results.text  # 12,345,600 fen in yuan
        assert "大连市" in results.text and "独占许可" in results.text
        page = client.get(f"/listings/{listing['id']}")
        assert page.status_code == 200
        assert published["word"] in page.text and "H01M 10/0525" in page.text and "已授权" in page.text


def test_facets_narrow_the_search(portal: str, published: dict[str, Any]) -> None:
    listing_link = f'href="/listings/{published["listing"]["id"]}"'
    with browser(portal) as client:
        for params in ({"price_max": "1000"}, {"region": "110000"}, {"deal_type": "assignment"},
                       {"ipc": "A61K"}):
            page = client.get("/listings", params={"q": published["word"], **params})
            assert page.status_code == 200
            assert listing_link not in page.text, params
        sorted_page = client.get("/listings", params={"q": published["word"], "sort": "price_desc"})
        assert listing_link in sorted_page.text


def test_htmx_gets_only_the_results(portal: str, published: dict[str, Any]) -> None:
    with browser(portal) as client:
        fragment = client.get("/listings", params={"q": published["word"]}, headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        assert "<html" not in fragment.text
        assert f'href="/listings/{published["listing"]["id"]}"' in fragment.text


def test_search_errors_are_shown_beside_their_field(portal: str) -> None:
    with browser(portal, language="en") as client:
        typed = client.get("/listings", params={"price_min": "lots"})
        assert 'id="price_min-error"' in typed.text and "Enter an amount in yuan" in typed.text
        # The API refuses the IPC code (query parameter `ipc`): its error is shown beside that field.
        refused = client.get("/listings", params={"ipc": "Z99"})
        assert 'id="ipc-error"' in refused.text
        assert 'aria-invalid="true" aria-describedby="ipc-error"' in refused.text


def test_english_page_shows_amounts_and_regions_in_english(portal: str, published: dict[str, Any]) -> None:
    with browser(portal, language="en-GB") as client:
        page = client.get(f"/listings/{published['listing']['id']}")
        assert "CN¥123,456.00" in page.text
        assert "Dalian, Liaoning" in page.text and "Exclusive licence" in page.text


def test_credential_check_says_when_no_record_has_the_number(portal: str) -> None:
    with browser(portal) as client:
        page = client.get("/check", params={"kind": "certificate", "number": "NO-SUCH-CERT-1"})
        assert page.status_code == 200
        assert 'id="number-error"' in page.text and "没有与此编号对应的记录" in page.text


def test_fair_page_shows_live_statistics(portal: str, test_profile: Profile) -> None:
    officer = {"Authorization": "Bearer " + _token(test_profile, "officer-1", "officer")}
    body = {"name": "辽宁专利交易会 " + unique_word(), "venue": "大连国际会议中心", "region_code": "210200",
            "starts_on": "2027-05-10", "ends_on": "2027-05-12"}
    created = httpx.post(f"{_trading(test_profile)}/v1/fairs", json=body, headers=officer)
    assert created.status_code == 201, created.text
    fair = created.json()
    with browser(portal) as client:
        page = client.get(f"/fairs/{fair['id']}")
        assert page.status_code == 200, page.text
        assert body["name"] in page.text and "实时统计" in page.text and "2027年5月10日" in page.text
        assert 'hx-trigger="every 15s"' in page.text
        missing = client.get("/fairs/no-such-fair")
        assert missing.status_code == 404


def test_participant_lists_a_patent_and_sees_api_errors_beside_fields(portal: str, test_profile: Profile) -> None:
    owner = register_organisation(test_profile, "210100")
    with browser(portal, language="en") as client:
        assert client.get("/my/listings").status_code == 303  # sign in first
        signed_in(client, test_profile, f"user-of-{owner}", "participant", owner)
        form = client.get("/my/listings/new")
        assert form.status_code == 200
        csrf = csrf_of(form.text)
        refused = client.post("/my/listings/new", data={"csrf_token": csrf, "title": "Membrane",
                                                        "application_number": "not-a-number"})
        assert refused.status_code == 422
        assert 'id="application_number-error"' in refused.text
        assert '<a href="#application_number">Application number: ' in refused.text  # the summary
        assert 'id="deal_types-error"' in refused.text or 'id="patent_kind-error"' in refused.text
        forged = client.post("/my/listings/new", data={"csrf_token": "forged", "title": "x"})
        assert forged.status_code == 403
        word = unique_word()
        number = application_number()
        # Only the patent's verified owner publishes its listing (issue 11): claimed and verified by API.
        verified_owner(test_profile, owner, number)
        created = client.post("/my/listings/new", data={
            "csrf_token": csrf, "application_number": number, "filing_date": f"{number[:4]}-03-01",
            "title": f"Membrane {word}",
            "patent_kind": "invention", "legal_status": "granted", "industry": "new_materials",
            "region_code": "210100", "expires_on": "2036-01-01", "ipc_codes": "B01D 71/26",
            "deal_types": ["ordinary_licence", "assignment"], "price": "80,000.50"})
        assert created.status_code == 303, created.text
        page = client.get(created.headers["location"])
        assert "CN¥80,000.50" in page.text and "Draft" in page.text
        publish_form = re.search(r'action="(/my/listings/[^"]+/publish)"', page.text)
        assert publish_form is not None
        published = client.post(publish_form.group(1), data={
            "csrf_token": csrf, "version": re.search(r'name="version" value="(\d+)"', page.text).group(1)})  # type: ignore[union-attr]
        assert published.status_code == 303
        assert "Published" in client.get(created.headers["location"]).text
        mine = client.get("/my/listings")
        assert f"Membrane {word}" in mine.text
        # Change it: the form comes filled in; a stale version is refused with a message.
        listing_id = created.headers["location"].rsplit("/", 1)[1]
        edit = client.get(f"/my/listings/{listing_id}/edit")
        assert edit.status_code == 200 and f'value="Membrane {word}"' in edit.text and 'value="80000.50"' in edit.text
        version = re.search(r'name="version" value="(\d+)"', edit.text).group(1)  # type: ignore[union-attr]
        changed = {"csrf_token": csrf, "version": version, "title": f"Membrane {word} v2", "industry": "new_materials",
                   "region_code": "210100", "legal_status": "granted", "expires_on": "2036-01-01",
                   "ipc_codes": "B01D 71/26", "deal_types": ["assignment"], "price": "90000"}
        saved = client.post(f"/my/listings/{listing_id}/edit", data=changed)
        assert saved.status_code == 303, saved.text
        assert "CN¥90,000.00" in client.get(f"/listings/{listing_id}").text
        stale = client.post(f"/my/listings/{listing_id}/edit", data={**changed, "title": f"Membrane {word} v3"})
        assert stale.status_code == 422 and "Someone changed this listing meanwhile" in stale.text
        matches = client.get("/my/matches")
        assert matches.status_code == 200 and "<h1>Match suggestions</h1>" in matches.text
    indexed(test_profile)


def _token(profile: Profile, subject: str, role: str) -> str:
    from tests.support.stack import token

    return token(profile, subject, role)


def _trading(profile: Profile) -> str:
    from tests.support.stack import api_url

    return api_url(profile, "trading")


def test_participant_posts_a_need_and_sees_the_match_suggested(portal: str, test_profile: Profile,
                                                               published: dict[str, Any]) -> None:
    seeker = register_organisation(test_profile, "210100")
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, f"user-of-{seeker}", "participant", seeker)
        page = client.get("/my/needs")
        assert page.status_code == 200 and "Your organisation has posted no need yet." in page.text
        csrf = csrf_of(page.text)
        refused = client.post("/my/needs", data={"csrf_token": csrf, "title": "", "budget": "a lot"})
        assert refused.status_code == 422 and 'id="budget-error"' in refused.text
        posted = client.post("/my/needs", data={
            "csrf_token": csrf, "title": f"Separator film {published['word']}", "keywords": published["word"],
            "ipc_codes": "H01M", "deal_types": ["exclusive_licence"], "budget": "200,000"})
        assert posted.status_code == 303, posted.text
        needs = client.get("/my/needs")
        assert f"Separator film {published['word']}" in needs.text and "CN¥200,000.00" in needs.text
        listing_link = f'href="/listings/{published["listing"]["id"]}"'
        eventually(lambda: listing_link in client.get("/my/matches").text, timeout=30,
                   what="the matchmaker's suggestion on the match page")
