"""Trading journeys in a real browser (Chromium through Playwright, axe-core on every page visited, a
screenshot of each journey's last page under .local/<profile>/artefacts/), signed in through
Keycloak's own page as the demo users:

1. demo-participant-a claims a patent, demo-officer verifies the claim in the queue, the participant
   lists the patent and publishes it; demo-participant-b makes an offer from the listing's page; the
   owner accepts and signs; the licence is there for both.
2. The owner signs an exclusive licence whose scope overlaps one the patent already carries: the
   signing form shows the refusal, naming the licence it conflicts with."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from playwright.sync_api import Browser, BrowserContext, Page

from tests.stack.portal.test_browser import accessible, artefacts, browser  # noqa: F401 (fixtures)
from tests.stack.trading_deals.support import (
    accepted_negotiation,
    application_number,
    licence_from,
    published_listing,
    register_organisation,
    terms,
)
from tests.support.stack import api_url, auth, eventually, organisation_body, projected

pytestmark = pytest.mark.stack

# The demo users' organisations (deploy/local/keycloak/realm-ipo-dev-additions.json, attribute `org`).
ORG_A = "91210100MA0DE0001E"
ORG_B = "91210200MA0DE0002N"


@pytest.fixture(scope="module")
def demo_organisations(services: dict[str, ManagedProcess], test_profile: Profile) -> tuple[str, str]:
    """The demo users' organisations registered with the registry (once: the demo data may have done
    it already) and known to trading."""
    for code in (ORG_A, ORG_B):
        response = httpx.post(f"{api_url(test_profile, 'registry')}/v1/organisations",
                              json=organisation_body(code, f"演示机构 {code[-5:]}"), headers=auth(test_profile))
        assert response.status_code in (201, 200, 409), response.text
        eventually(projected(test_profile, code), what=f"organisation {code} in trading's projection")
    return ORG_A, ORG_B


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:  # noqa: F811 (the fixture above)
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def signed_in_page(browser: Browser, made: list[BrowserContext], portal: str, profile: Profile,  # noqa: F811
                   user: str) -> Page:
    """A new browser (own cookies) in which `user` signs in on Keycloak's page, back on the portal."""
    context = browser.new_context(locale="zh-CN")
    made.append(context)
    page = context.new_page()
    page.goto(portal + "/")
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{profile.keycloak_url}/**")
    page.fill("#username", user)
    page.fill("#password", user)
    page.click("#kc-login")
    page.wait_for_url(f"{portal}/**")
    return page


def test_a_patent_is_claimed_verified_listed_negotiated_and_licensed(
        browser: Browser, contexts: list[BrowserContext], portal: str,  # noqa: F811
        keycloak: ManagedProcess, test_profile: Profile, artefacts: Path,  # noqa: F811
        demo_organisations: tuple[str, str]) -> None:
    owner_org, _ = demo_organisations
    number = application_number()
    canonical = number.replace(".", "")
    title = f"海水淡化反渗透膜组件 {random.randrange(10**6)}"

    # 1. The owner claims the patent with its certificate.
    owner = signed_in_page(browser, contexts, portal, test_profile, "demo-participant-a")
    owner.click('nav a[href="/my/patents"]')
    owner.wait_for_url("**/my/patents")
    accessible(owner)
    owner.fill("#application_number", number)
    owner.fill("#owners", "大连膜技术有限公司")
    owner.select_option("#kind", "certificate")
    owner.fill("#reference", "第7654321号")
    owner.fill("#dated", "2024-01-15")
    owner.get_by_role("button", name="提交认领").click()
    owner.wait_for_url(f"**/my/patents/{canonical}")
    assert owner.locator(".claim-status").inner_text() == "审查中"
    accessible(owner)

    # 2. An officer finds the claim in the queue and verifies it.
    officer = signed_in_page(browser, contexts, portal, test_profile, "demo-officer")
    officer.click('nav a[href="/officer/claims"]')
    officer.wait_for_url("**/officer/claims")
    accessible(officer)
    officer.locator(f'form[action="/officer/claims/{canonical}/{owner_org}/verify"] button').click()
    officer.wait_for_url("**/officer/claims")
    assert officer.locator(f'form[action="/officer/claims/{canonical}/{owner_org}/verify"]').count() == 0
    accessible(officer)
    owner.reload()
    assert owner.locator(".claim-status").inner_text() == "已核实"

    # 3. The owner lists the patent and publishes the listing.
    owner.click('nav a[href="/my/listings"]')
    owner.wait_for_url("**/my/listings")
    owner.get_by_role("button", name="发布专利").click()
    owner.wait_for_url("**/my/listings/new")
    accessible(owner)
    owner.fill("#application_number", number)
    owner.fill("#filing_date", f"{number[:4]}-03-01")
    owner.fill("#title", title)
    owner.select_option("#patent_kind", "invention")
    owner.select_option("#legal_status", "granted")
    owner.select_option("#industry", "new_materials")
    owner.fill("#region_code", "210200")
    owner.fill("#ipc_codes", "B01D 61/02")
    owner.check('input[name="deal_types"][value="exclusive_licence"]')
    owner.check('input[name="deal_types"][value="ordinary_licence"]')
    owner.fill("#price", "300000")
    owner.get_by_role("button", name="保存为草稿").click()
    owner.wait_for_url("**/listings/*")
    listing_url = owner.url
    owner.get_by_role("button", name="发布", exact=True).click()
    owner.wait_for_url(listing_url)
    accessible(owner)

    # 4. A second organisation makes an offer from the listing's page.
    buyer = signed_in_page(browser, contexts, portal, test_profile, "demo-participant-b")
    buyer.goto(listing_url)
    accessible(buyer)
    buyer.get_by_role("button", name="报价洽谈").click()
    buyer.wait_for_url("**/negotiate")
    accessible(buyer)
    buyer.select_option("#deal_type", "exclusive_licence")
    buyer.fill("#fields_of_use", "B01D")
    buyer.fill("#territories", "210000")
    buyer.fill("#term_start", "2027-01-01")
    buyer.fill("#term_end", "2029-12-31")
    buyer.fill("#upfront_fee", "250000")
    buyer.fill("#royalty_rate_percent", "2.5")
    buyer.fill("#valid_until", "2099-12-31")
    buyer.get_by_role("button", name="发送报价").click()
    buyer.wait_for_url("**/my/negotiations/*")
    negotiation_url = buyer.url
    accessible(buyer)

    # 5. The owner finds it among the negotiations, accepts and signs: the licence is made.
    owner.click('nav a[href="/my/negotiations"]')
    owner.wait_for_url("**/my/negotiations")
    accessible(owner)
    owner.get_by_role("link", name=title).first.click()
    owner.wait_for_url(negotiation_url)
    accessible(owner)
    owner.get_by_role("button", name="接受报价").click()
    owner.wait_for_url(negotiation_url)
    assert owner.locator("#negotiation-status").inner_text() == "已接受"
    accessible(owner)
    owner.get_by_role("button", name="签订", exact=True).click()
    owner.wait_for_url("**/my/licences/*")
    licence_url = owner.url
    assert "¥250,000.00" in owner.inner_text("main")
    accessible(owner)

    # 6. The buyer sees the signed negotiation and its licence.
    buyer.click('nav a[href="/my/negotiations"]')
    buyer.get_by_role("link", name=title).first.click()
    buyer.wait_for_url(negotiation_url)
    assert buyer.locator("#negotiation-status").inner_text() == "已签订"
    accessible(buyer)
    buyer.click(f'main a[href="{licence_url.removeprefix(portal)}"]')
    buyer.wait_for_url(licence_url)
    assert buyer.get_by_role("heading", level=1).inner_text().startswith("许可")
    accessible(buyer)
    buyer.screenshot(path=str(artefacts / "deal-licence.png"), full_page=True)


def test_a_conflicting_licence_is_refused_on_the_signing_form(
        browser: Browser, contexts: list[BrowserContext], portal: str,  # noqa: F811
        keycloak: ManagedProcess, test_profile: Profile, artefacts: Path,  # noqa: F811
        demo_organisations: tuple[str, str]) -> None:
    owner_org, buyer_org = demo_organisations
    # Set up through the API: an exclusive licence for Liaoning 2027-2029, then an accepted offer of an
    # exclusive licence for Dalian in 2028 on the same patent (inside the first one's scope).
    listing = published_listing(test_profile, owner_org)
    first_licensee = register_organisation(test_profile, "210100")
    granted = licence_from(test_profile, owner_org, first_licensee, listing,
                           terms("exclusive_licence", territories=("210000",), start="2027-01-01", end="2029-12-31"))
    assert granted.status_code == 201, granted.text
    licence_id = granted.json()["id"]
    negotiation = accepted_negotiation(test_profile, owner_org, buyer_org, listing,
                                       terms("exclusive_licence", territories=("210200",), start="2028-01-01",
                                             end="2028-12-31"))

    owner = signed_in_page(browser, contexts, portal, test_profile, "demo-participant-a")
    owner.click('nav a[href="/my/negotiations"]')
    owner.wait_for_url("**/my/negotiations")
    accessible(owner)
    owner.goto(f"{portal}/my/negotiations/{negotiation['id']}")
    accessible(owner)
    owner.get_by_role("button", name="签订", exact=True).click()
    owner.wait_for_load_state()
    conflict = owner.locator("#licence-conflict")
    assert conflict.is_visible()
    assert conflict.get_by_role("link", name=licence_id).is_visible()
    assert owner.get_by_role("button", name="签订", exact=True).is_visible()  # the form, to sign once resolved
    accessible(owner)
    owner.screenshot(path=str(artefacts / "deal-licence-conflict.png"), full_page=True)
