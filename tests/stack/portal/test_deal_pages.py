"""The trading pages over the real APIs (development tokens, like test_pages.py): role gating, API
refusals beside their field, the claim decided in the officer's queue, a licence conflict named on the
signing form, a stale version refused with a message, and the CSV import's report."""

from __future__ import annotations

import re

import httpx
import pytest
from devstack.layout import Profile

from tests.stack.portal.conftest import browser, csrf_of, signed_in
from tests.stack.trading_deals.support import (
    accepted_negotiation,
    application_number,
    if_match,
    licence_from,
    party,
    published_listing,
    register_organisation,
    terms,
    url,
)

pytestmark = pytest.mark.stack


def version_in(html: str, action: str) -> str:
    """The version a form (by its action) carries."""
    form = html[html.index(f'action="{action}"'):]
    found = re.search(r'name="version" value="(\d+)"', form)
    assert found is not None, action
    return found.group(1)


@pytest.mark.parametrize(("path", "role"), [
    ("/my/patents", "officer"), ("/my/negotiations", "officer"), ("/my/licences", "officer"),
    ("/my/transfers", "officer"), ("/my/pledges", "officer"), ("/my/listings/import", "officer"),
    ("/officer/claims", "participant"), ("/officer/recordals", "participant"), ("/officer/transfers", "participant"),
    ("/officer/pledges", "participant"),
])
def test_pages_are_for_their_role(portal: str, test_profile: Profile, path: str, role: str) -> None:
    with browser(portal, language="en") as client:
        anonymous = client.get(path)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/auth/login")
        org = "91210200MA0DE0002N" if role == "participant" else None
        signed_in(client, test_profile, f"someone-{role}", role, org)
        refused = client.get(path)
        assert refused.status_code == 403 and "Your role does not give access to this page." in refused.text


def test_navigation_shows_each_role_its_pages(portal: str, test_profile: Profile) -> None:
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, "nav-participant", "participant", "91210200MA0DE0002N")
        home = client.get("/").text
        assert all(f'href="{p}"' in home for p in ("/my/patents", "/my/negotiations", "/my/licences",
                                                   "/my/transfers", "/my/pledges"))
        assert 'href="/officer/claims"' not in home
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, "nav-officer", "officer", None)
        home = client.get("/").text
        assert all(f'href="{p}"' in home for p in ("/officer/claims", "/officer/recordals", "/officer/transfers",
                                                   "/officer/pledges"))
        assert 'href="/my/patents"' not in home


def test_a_claim_is_made_shown_and_verified_in_the_officers_queue(portal: str, test_profile: Profile) -> None:
    owner = register_organisation(test_profile, "210200")
    number = application_number()
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, f"user-of-{owner}", "participant", owner)
        csrf = csrf_of(client.get("/my/patents").text)
        # The API's refusals beside their fields (nested `#/evidence/reference` -> the reference field).
        refused = client.post("/my/patents", data={"csrf_token": csrf, "application_number": number, "owners": "",
                                                   "kind": "certificate", "reference": "", "dated": "2024-01-15"})
        assert refused.status_code == 422
        assert 'id="owners-error"' in refused.text and 'id="reference-error"' in refused.text
        assert 'aria-describedby="reference-error"' in refused.text
        claimed = client.post("/my/patents", data={
            "csrf_token": csrf, "application_number": f"ZL{number}", "owners": "大连膜技术有限公司",
            "kind": "certificate", "reference": "第7654321号", "dated": "2024-01-15"})
        assert claimed.status_code == 303, claimed.text
        patent_page = client.get(claimed.headers["location"])
        assert number in patent_page.text and "Not verified yet" in patent_page.text
        assert '<strong class="claim-status">Pending</strong>' in patent_page.text
    with browser(portal, language="en") as officer:
        signed_in(officer, test_profile, "officer-pages", "officer", None)
        queue = officer.get("/officer/claims")
        assert queue.status_code == 200 and number in queue.text and "第7654321号" in queue.text
        canonical = number.replace(".", "")  # as the queue's forms name it
        rejected = officer.post(f"/officer/claims/{canonical}/{owner}/reject",
                                data={"csrf_token": csrf_of(queue.text), "reason": ""})
        assert rejected.status_code == 422 and 'class="error" role="alert">This is too short.' in rejected.text
        verified = officer.post(f"/officer/claims/{canonical}/{owner}/verify",
                                data={"csrf_token": csrf_of(queue.text), "reason": "matches the register"})
        assert verified.status_code == 303, verified.text
        assert f"/officer/claims/{canonical}/{owner}/verify" not in officer.get("/officer/claims").text
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, f"user-of-{owner}", "participant", owner)
        page = client.get(f"/my/patents/{number}").text
        assert f"{owner} (your organisation)" in page and ">Verified</strong>" in page
        assert "matches the register" in page


def test_offer_errors_are_shown_beside_their_fields(portal: str, test_profile: Profile) -> None:
    owner = register_organisation(test_profile, "210200")
    buyer = register_organisation(test_profile, "210100")
    listing = published_listing(test_profile, owner)
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, f"user-of-{buyer}", "participant", buyer)
        listing_page = client.get(f"/listings/{listing['id']}").text
        assert f'href="/listings/{listing["id"]}/negotiate"' in listing_page
        form = client.get(f"/listings/{listing['id']}/negotiate")
        assert form.status_code == 200
        csrf = csrf_of(form.text)
        offer = {"csrf_token": csrf, "deal_type": "exclusive_licence", "fields_of_use": "H01M", "territories": "210000",
                 "term_start": "2027-01-01", "term_end": "2028-12-31", "upfront_fee": "lots",
                 "royalty_rate_percent": "2", "valid_until": "2099-01-01"}
        typed = client.post(f"/listings/{listing['id']}/negotiate", data=offer)
        assert typed.status_code == 422 and 'id="upfront_fee-error"' in typed.text
        # The API's refusals of nested terms (`#/terms/territories/0`) beside the form's field.
        refused = client.post(f"/listings/{listing['id']}/negotiate",
                              data={**offer, "upfront_fee": "1000", "territories": "999999", "valid_until": ""})
        assert refused.status_code == 422
        assert 'id="territories-error"' in refused.text and 'id="valid_until-error"' in refused.text


def test_a_stale_answer_is_refused_with_a_message(portal: str, test_profile: Profile) -> None:
    owner = register_organisation(test_profile, "210200")
    buyer = register_organisation(test_profile, "210100")
    listing = published_listing(test_profile, owner)
    opened = httpx.post(url(test_profile, "/v1/negotiations"), headers=party(test_profile, buyer),
                        json={"listing_id": listing["id"], "valid_until": "2099-01-01T00:00:00Z",
                              "terms": terms("ordinary_licence")})
    assert opened.status_code == 201, opened.text
    negotiation = opened.json()
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, f"user-of-{owner}", "participant", owner)
        page = client.get(f"/my/negotiations/{negotiation['id']}")
        assert page.status_code == 200 and "Accept the offer" in page.text
        shown = version_in(page.text, f"/my/negotiations/{negotiation['id']}/accept")
        # The buyer acts meanwhile (states its publicity consent): the owner's acceptance, with the
        # version the page was shown with, is refused, and the page says so.
        consented = httpx.post(url(test_profile, f"/v1/negotiations/{negotiation['id']}/publicity-consent"),
                               json={"consent": True}, headers={**party(test_profile, buyer), **if_match(negotiation)})
        assert consented.status_code == 200, consented.text
        late = client.post(f"/my/negotiations/{negotiation['id']}/accept",
                           data={"csrf_token": csrf_of(page.text), "version": shown})
        assert late.status_code == 412 and "Someone acted on this meanwhile" in late.text
        assert version_in(late.text, f"/my/negotiations/{negotiation['id']}/accept") != shown  # shown as it is now


def test_a_licence_conflict_is_shown_on_the_signing_form_naming_the_licence(portal: str,
                                                                          test_profile: Profile) -> None:
    owner = register_organisation(test_profile, "210200")
    first, second = register_organisation(test_profile, "210100"), register_organisation(test_profile, "210100")
    listing = published_listing(test_profile, owner)
    exclusive = terms("exclusive_licence", territories=("210000",), start="2027-01-01", end="2029-12-31")
    granted = licence_from(test_profile, owner, first, listing, exclusive)
    assert granted.status_code == 201, granted.text
    licence_id = granted.json()["id"]
    negotiation = accepted_negotiation(test_profile, owner, second, listing,
                                       terms("exclusive_licence", territories=("210200",), start="2028-01-01",
                                             end="2028-12-31"))
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, f"user-of-{owner}", "participant", owner)
        page = client.get(f"/my/negotiations/{negotiation['id']}")
        assert "Sign the agreement" in page.text
        action = f"/my/negotiations/{negotiation['id']}/sign"
        refused = client.post(action, data={"csrf_token": csrf_of(page.text), "version": version_in(page.text, action)})
        assert refused.status_code == 409
        assert 'id="licence-conflict"' in refused.text
        assert f'<a href="/my/licences/{licence_id}">{licence_id}</a>' in refused.text
        assert "Sign the agreement" in refused.text  # the form is still there
        licence_page = client.get(f"/my/licences/{licence_id}")
        assert licence_page.status_code == 200 and "Exclusive licence" in licence_page.text


def test_licence_recordal_is_filed_by_a_party_and_recorded_by_an_officer(portal: str, test_profile: Profile) -> None:
    owner = register_organisation(test_profile, "210200")
    buyer = register_organisation(test_profile, "210100")
    listing = published_listing(test_profile, owner)
    # Begun this year: a quarter that has ended is reportable.
    granted = licence_from(test_profile, owner, buyer, listing, terms("ordinary_licence", start="2026-01-01"))
    assert granted.status_code == 201, granted.text
    licence_id = granted.json()["id"]
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, f"user-of-{buyer}", "participant", buyer)
        assert licence_id in client.get("/my/licences").text
        page = client.get(f"/my/licences/{licence_id}")
        csrf = csrf_of(page.text)
        bad = client.post(f"/my/licences/{licence_id}/royalty-reports",
                          data={"csrf_token": csrf, "period": "someday", "net_sales": "1000"})
        assert bad.status_code == 422 and 'id="period-error"' in bad.text
        reported = client.post(f"/my/licences/{licence_id}/royalty-reports",
                               data={"csrf_token": csrf, "period": "2026-Q3", "net_sales": "100,000"})
        assert reported.status_code == 303, reported.text
        filed = client.post(f"/my/licences/{licence_id}/recordal", data={
            "csrf_token": csrf, "version": version_in(page.text, f"/my/licences/{licence_id}/recordal"),
            "reference": "BA-2026-0001"})
        assert filed.status_code == 303, filed.text
        after = client.get(f"/my/licences/{licence_id}").text
        assert 'id="recordal-status">Filed<' in after and "2026-Q3" in after and "CN¥3,500.00" in after
    with browser(portal, language="en") as officer:
        signed_in(officer, test_profile, "officer-pages", "officer", None)
        queue = officer.get("/officer/recordals")
        assert f'action="/officer/recordals/{licence_id}"' in queue.text
        recorded = officer.post(f"/officer/recordals/{licence_id}", data={
            "csrf_token": csrf_of(queue.text), "version": version_in(queue.text, f"/officer/recordals/{licence_id}"),
            "reference": "REC-1"})
        assert recorded.status_code == 303, recorded.text
        assert f'action="/officer/recordals/{licence_id}"' not in officer.get("/officer/recordals").text


def test_an_assignment_is_registered_in_the_officers_queue(portal: str, test_profile: Profile) -> None:
    owner = register_organisation(test_profile, "210200")
    buyer = register_organisation(test_profile, "210100")
    listing = published_listing(test_profile, owner)
    signed = licence_from(test_profile, owner, buyer, listing, terms("assignment", fee=90_000_000))
    assert signed.status_code == 201 and signed.json()["kind"] == "transfer", signed.text
    transfer_id = signed.json()["id"]
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, f"user-of-{buyer}", "participant", buyer)
        assert transfer_id in client.get("/my/transfers").text
    with browser(portal, language="en") as officer:
        signed_in(officer, test_profile, "officer-pages", "officer", None)
        queue = officer.get("/officer/transfers")
        action = f"/officer/transfers/{transfer_id}"
        stale = officer.post(action, data={"csrf_token": csrf_of(queue.text), "version": "999"})
        assert stale.status_code == 422 and "Someone acted on this meanwhile" in stale.text
        registered = officer.post(action, data={"csrf_token": csrf_of(queue.text),
                                                "version": version_in(queue.text, action)})
        assert registered.status_code == 303, registered.text
        assert f'action="{action}"' not in officer.get("/officer/transfers").text


def test_a_pledge_is_requested_and_registered(portal: str, test_profile: Profile) -> None:
    owner = register_organisation(test_profile, "210200")
    bank = register_organisation(test_profile, "210100")
    listing = published_listing(test_profile, owner)
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, f"user-of-{owner}", "participant", owner)
        page = client.get("/my/pledges")
        csrf = csrf_of(page.text)
        refused = client.post("/my/pledges", data={"csrf_token": csrf, "listing_id": listing["id"],
                                                   "pledgee_organisation_id": "nope", "amount": "1000000"})
        assert refused.status_code == 422 and 'id="pledgee_organisation_id-error"' in refused.text
        requested = client.post("/my/pledges", data={"csrf_token": csrf, "listing_id": listing["id"],
                                                     "pledgee_organisation_id": bank, "amount": "1,000,000"})
        assert requested.status_code == 303, requested.text
        assert "CN¥1,000,000.00" in client.get("/my/pledges").text
    with browser(portal, language="en") as officer:
        signed_in(officer, test_profile, "officer-pages", "officer", None)
        queue = officer.get("/officer/pledges").text
        found = re.search(r'action="/pledges/([^"/]+)/register"', queue)
        assert found is not None
        pledge_id = found.group(1)
        registered = officer.post(f"/pledges/{pledge_id}/register", data={
            "csrf_token": csrf_of(queue), "version": version_in(queue, f"/pledges/{pledge_id}/register")})
        assert registered.status_code == 303, registered.text
        assert f"/pledges/{pledge_id}/release" in officer.get("/officer/pledges").text


def test_csv_import_reports_every_row(portal: str, test_profile: Profile) -> None:
    owner = register_organisation(test_profile, "210200")
    number = application_number()
    header = ("application_number,patent_kind,title,industry,region_code,legal_status,filing_date,deal_types,"
              "price_yuan,ipc_codes")
    good = (f"{number},invention,膜分离装置,new_materials,210200,granted,{number[:4]}-03-01,"
            "ordinary_licence;assignment,50000,B01D 71/26")
    other = application_number()
    bad = f"{other},invention,,new_materials,210200,granted,{other[:4]}-03-01,ordinary_licence,,B01D"
    csv = "\n".join((header, good, bad)) + "\n"
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, f"user-of-{owner}", "participant", owner)
        assert 'href="/my/listings/import"' in client.get("/my/listings").text
        csrf = csrf_of(client.get("/my/listings/import").text)
        empty = client.post("/my/listings/import", data={"csrf_token": csrf}, files={"file": ("a.csv", b"")})
        assert empty.status_code == 422 and 'id="file-error"' in empty.text
        report = client.post("/my/listings/import", data={"csrf_token": csrf},
                             files={"file": ("listings.csv", csv.encode(), "text/csv")})
        assert report.status_code == 200, report.text
        main = report.text[report.text.index("<main"):]
        assert '<dd id="created-count">1</dd>' in main and '<dd id="rejected-count">1</dd>' in main, main
        assert "<td>3</td><td>title</td>" in main
        mine = httpx.get(url(test_profile, "/v1/listings/mine"), headers=party(test_profile, owner)).json()["items"]
        assert [item["application_number"] for item in mine] == [number.replace(".", "")]

