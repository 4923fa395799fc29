"""Journeys of the coordinator and the officers in a real browser (Debian's Chromium through Playwright),
signed in through Keycloak, with axe-core on every page visited and a screenshot of the last page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from playwright.sync_api import Browser, Page

from tests.stack.portal.people import DEMO_BASE, course_and_session, talent_known_to_training
from tests.stack.portal.test_browser import accessible, artefacts, browser  # noqa: F401 (fixtures)
from tests.stack.trading_catalogue.support import unique_word

pytestmark = pytest.mark.stack


def sign_in(page: Page, portal: str, profile: Profile, user: str) -> None:
    page.goto(portal + "/")
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{profile.keycloak_url}/**")
    page.fill("#username", user)
    page.fill("#password", user)
    page.click("#kc-login")
    page.wait_for_url(f"{portal}/**")


def sign_out(page: Page, portal: str) -> None:
    page.get_by_role("button", name=re.compile("^退出登录")).click()
    page.wait_for_url(f"{portal}/")


def test_coordinator_enrols_a_talent_and_records_a_pass(browser: Browser, portal: str,  # noqa: F811
                                                        keycloak: ManagedProcess, test_profile: Profile,
                                                        artefacts: Path) -> None:  # noqa: F811
    talent_id = talent_known_to_training(test_profile)
    course, session = course_and_session(test_profile, DEMO_BASE)
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    sign_in(page, portal, test_profile, "demo-coordinator")
    page.get_by_role("link", name="课程", exact=True).click()
    page.wait_for_url("**/coordinator/courses")
    accessible(page)
    page.goto(f"{portal}/coordinator/courses/{course['id']}")
    accessible(page)
    page.locator(f'a[href="/coordinator/sessions/{session["id"]}"]').click()
    page.wait_for_url(f"**/coordinator/sessions/{session['id']}")
    accessible(page)
    page.get_by_label("登记号").fill(talent_id)
    with page.expect_navigation():
        page.get_by_role("button", name="报名", exact=True).click()
    row = page.locator("tr", has_text=talent_id)
    state = row.locator("td").nth(1)
    assert state.inner_text() == "已申请"
    for button, reached in (("批准", "已批准"), ("预订席位", "已订座"), ("已出勤", "已出勤")):
        with page.expect_navigation():
            row.get_by_role("button", name=button, exact=True).click()
        assert state.inner_text() == reached, button
        accessible(page)
    row.get_by_label(re.compile("^成绩")).fill("86")
    with page.expect_navigation():
        row.get_by_role("button", name="记录考核成绩").click()
    assert state.inner_text().startswith("已结业") and "LNTC-" in state.inner_text()
    accessible(page)
    page.get_by_role("link", name=talent_id).click()
    page.wait_for_url(f"**/coordinator/talents/{talent_id}")
    assert "已结业" in page.locator("main").inner_text()
    accessible(page)
    page.screenshot(path=str(artefacts / "coordinator-pass.png"), full_page=True)
    context.close()


def test_two_officers_publish_a_press_release_that_reaches_the_news_and_the_feed(
        browser: Browser, portal: str, keycloak: ManagedProcess, test_profile: Profile,  # noqa: F811
        artefacts: Path) -> None:  # noqa: F811
    title = f"辽宁省知识产权宣传周开幕 {unique_word()}"
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    sign_in(page, portal, test_profile, "demo-officer")
    page.get_by_role("link", name="新闻稿与新闻", exact=True).click()
    page.wait_for_url("**/officer/releases*")
    accessible(page)
    page.get_by_role("button", name="起草新闻稿").click()
    page.wait_for_url("**/officer/releases/new")
    accessible(page)
    page.get_by_label("名称", exact=True).fill(title)
    page.get_by_label("正文", exact=True).fill("第十五届辽宁省知识产权宣传周今日在沈阳开幕。")
    page.get_by_role("button", name="保存为草稿").click()
    page.wait_for_url(re.compile(r".*/officer/releases/[^/]+$"))
    release_url = page.url
    accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="提交审核").click()
    assert page.locator("#release-state").inner_text() == "待审核"
    # The submitter may not publish it: the API refuses, the page says why.
    with page.expect_navigation():
        page.get_by_role("button", name="立即发布").click()
    assert "须由提交该版次以外的另一名工作人员发布" in page.get_by_role("alert").inner_text()
    assert page.locator("#release-state").inner_text() == "待审核"
    accessible(page)
    sign_out(page, portal)

    sign_in(page, portal, test_profile, "demo-officer-2")
    page.goto(release_url)
    accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="立即发布").click()
    assert page.locator("#release-state").inner_text() == "已发布"
    accessible(page)
    page.get_by_role("link", name="新闻", exact=True).click()
    page.wait_for_url("**/news")
    accessible(page)
    page.get_by_role("link", name=title).click()
    page.wait_for_url("**/news/**")
    assert page.get_by_role("heading", level=1).inner_text() == title
    accessible(page)
    page.screenshot(path=str(artefacts / "officers-press-release.png"), full_page=True)
    context.close()

    atom = httpx.get(f"{portal}/feeds/news.atom")
    assert atom.status_code == 200
    parsed: Any = feedparser.parse(atom.content)
    assert not parsed.bozo, parsed.bozo_exception
    entry = next(e for e in parsed.entries if e.title == title)
    assert release_url.rsplit("/", 1)[1] in entry.id + entry.link
