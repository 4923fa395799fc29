"""Journeys in a real browser: Debian's Chromium driven by Playwright, with axe-core (from the portal's
npm packages) run on every page a journey visits (no serious or critical violation), and a screenshot
of each journey's last page written under .local/<profile>/artefacts/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devstack.components import PORTAL_DIR, ensure_browser
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from playwright.sync_api import Browser, Page, sync_playwright

from tests.stack.portal.conftest import DEMO_PARTICIPANT
from tests.stack.trading_catalogue.support import (
    create_listing,
    participant,
    publish,
    register_organisation,
    unique_word,
)

pytestmark = pytest.mark.stack

AXE = PORTAL_DIR / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = ensure_browser()
    with sync_playwright() as playwright:
        # As root (CI, this machine) Chromium only starts without its sandbox.
        launched = playwright.chromium.launch(executable_path=str(executable), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def artefacts(test_profile: Profile) -> Path:
    folder = test_profile.data_dir / "artefacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def accessible(page: Page) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    assert AXE.exists(), "axe-core is missing: run `make install` (npm ci in services/portal)"
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    bad = [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{page.url}: " + json.dumps(
        [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]} for v in bad],
        ensure_ascii=False)


def test_visitor_searches_in_chinese_and_opens_a_listing(browser: Browser, portal: str, test_profile: Profile,
                                                         artefacts: Path) -> None:
    word = unique_word()
    owner = register_organisation(test_profile, "210200")
    headers = participant(test_profile, owner)
    publish(test_profile, headers, create_listing(test_profile, headers, title=f"海水淡化反渗透膜 {word}",
                                                  price_fen=88_000_000))
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})  # a phone at a fair
    page = context.new_page()
    page.goto(portal + "/")
    accessible(page)
    page.get_by_label("搜索专利挂牌").fill(word)
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/listings?**")
    accessible(page)
    page.get_by_role("link", name=f"海水淡化反渗透膜 {word}").click()
    page.wait_for_url("**/listings/**")
    assert page.get_by_role("heading", level=1).inner_text() == f"海水淡化反渗透膜 {word}"
    assert page.get_by_text("¥880,000.00").is_visible()
    accessible(page)
    page.screenshot(path=str(artefacts / "visitor-listing.png"), full_page=True)
    context.close()


def test_participant_signs_in_through_keycloak_and_lists_a_patent(browser: Browser, portal: str,
                                                                  keycloak: ManagedProcess, test_profile: Profile,
                                                                  artefacts: Path) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(portal + "/")
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{test_profile.keycloak_url}/**")
    page.fill("#username", DEMO_PARTICIPANT)
    page.fill("#password", DEMO_PARTICIPANT)
    page.click("#kc-login")
    page.wait_for_url(f"{portal}/**")
    page.get_by_role("link", name="我的专利挂牌").click()
    page.wait_for_url("**/my/listings")
    accessible(page)
    page.get_by_role("button", name="发布专利").click()
    page.get_by_role("button", name="保存为草稿").click()  # empty: the API's errors beside the fields
    assert page.locator("#title-error").is_visible()
    accessible(page)
    page.screenshot(path=str(artefacts / "participant-errors.png"), full_page=True)
    page.get_by_role("button", name=re.compile("^退出登录")).click()
    page.wait_for_url(f"{portal}/")
    assert page.get_by_role("button", name="登录", exact=True).is_visible()
    context.close()
