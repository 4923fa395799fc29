"""The coordinator's, the officer's and the public publicity pages over the real APIs (development tokens;
the sign-in through Keycloak is in test_people_browser.py): role gating, the API's refusals beside the
fields, and each workflow carried through the pages."""

from __future__ import annotations

import re
from typing import Any

import feedparser
import httpx
import pytest
from devstack.layout import Profile

from tests.stack.portal.conftest import browser, csrf_of, signed_in
from tests.stack.portal.people import (
    bearer,
    identity_number,
    ok,
    open_campaign,
    public_event,
    submitted_activity,
    talent_known_to_training,
    wait_for_training,
)
from tests.stack.trading_catalogue.support import register_organisation, unique_word
from tests.support.stack import api_url, new_credit_code

pytestmark = pytest.mark.stack


def version_in(html: str, action: str) -> str:
    """The version carried by the form posting to `action`."""
    found = re.search(re.escape(f'action="{action}"') + r'.*?name="version" value="(\d+)"', html, re.S)
    assert found is not None, f"no form posting to {action}"
    return found.group(1)


def test_pages_are_gated_by_role(portal: str, test_profile: Profile) -> None:
    with browser(portal, language="en") as client:
        for path in ("/coordinator/talents", "/coordinator/courses", "/officer/releases", "/officer/evaluations",
                     "/officer/activities", "/officer/targets", "/officer/milestone-drafts"):
            answer = client.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/auth/login"), path
        signed_in(client, test_profile, "user-p", "participant", new_credit_code())
        for path in ("/coordinator/talents", "/officer/releases", "/officer/targets"):
            assert client.get(path).status_code == 403, path
        home = client.get("/")
        assert 'href="/events"' in home.text and 'href="/news"' in home.text
        assert 'href="/coordinator/talents"' not in home.text and 'href="/officer/releases"' not in home.text
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, "coordinator-g", "coordinator", new_credit_code())
        assert client.get("/officer/releases").status_code == 403
        assert client.get("/officer/evaluations").status_code == 403
        page = client.get("/coordinator/talents")
        assert page.status_code == 200 and 'href="/coordinator/courses"' in page.text
        assert 'href="/officer/targets"' in page.text and 'href="/officer/releases"' not in page.text
        assert client.get("/officer/targets").status_code == 200
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, "officer-g", "officer", None)
        page = client.get("/officer/releases")
        assert page.status_code == 200
        for link in ("/officer/evaluations", "/officer/activities", "/coordinator/talents", "/officer/targets"):
            assert f'href="{link}"' in page.text, link


def test_coordinator_registers_a_talent_and_runs_a_session_to_a_pass(portal: str, test_profile: Profile) -> None:
    base = new_credit_code("210200")
    employer = register_organisation(test_profile, "210200")
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, f"coordinator-of-{base}", "coordinator", base)
        form = client.get("/coordinator/talents/new")
        csrf = csrf_of(form.text)
        refused = client.post("/coordinator/talents/new", data={"csrf_token": csrf, "name": "Z",
                                                                "identity_number": "123"})
        assert refused.status_code == 422
        for name in ("name", "identity_number", "employer_organisation_id", "categories"):
            assert f'id="{name}-error"' in refused.text, name
        assert 'aria-invalid="true" aria-describedby="name-error"' in refused.text
        assert "123" not in re.findall(r'id="identity_number"[^>]*>', refused.text)[0]  # never sent back
        registered = client.post("/coordinator/talents/new", data={
            "csrf_token": csrf, "name": "Zhao Lei", "identity_number": identity_number(),
            "employer_organisation_id": employer, "region_code": "210203",
            "categories": ["enterprise_ip_management"], "email": "zhao.lei@example.cn"})
        assert registered.status_code == 303, registered.text
        talent_id = registered.headers["location"].rsplit("/", 1)[1]
        talent = client.get(registered.headers["location"])
        assert "Zhao Lei" in talent.text and '<dd id="talent-status">Active</dd>' in talent.text
        assert "Change the status" not in talent.text  # officers only
        assert f'href="/coordinator/talents/{talent_id}"' in client.get(
            "/coordinator/talents", params={"employer": employer}).text

        # A course of the coordinator's base, with errors beside the fields first.
        refused = client.post("/coordinator/courses/new", data={"csrf_token": csrf, "title": "",
                                                                "credit_hours": "many"})
        assert refused.status_code == 422 and 'id="title-error"' in refused.text
        assert 'id="credit_hours-error"' in refused.text and 'id="audience-error"' in refused.text
        word = unique_word()
        created = client.post("/coordinator/courses/new", data={
            "csrf_token": csrf, "title": f"IP management practice {word}", "audience": "engineers",
            "credit_hours": "16", "categories": ["enterprise_ip_management"], "pass_mark": "60"})
        assert created.status_code == 303, created.text
        course_path = created.headers["location"]
        assert f"IP management practice {word}" in client.get("/coordinator/courses").text
        refused = client.post(f"{course_path}/sessions", data={
            "csrf_token": csrf, "starts_at": "2027-03-02T09:00", "ends_at": "2027-03-01T17:00", "venue": "Dalian",
            "capacity": "0"})
        assert refused.status_code == 422 and 'id="capacity-error"' in refused.text
        made = client.post(f"{course_path}/sessions", data={
            "csrf_token": csrf, "starts_at": "2027-03-01T09:00", "ends_at": "2027-03-02T17:00",
            "venue": "Dalian University of Technology", "capacity": "1"})
        assert made.status_code == 303, made.text
        session_path = made.headers["location"]
        session_id = session_path.rsplit("/", 1)[1]

        # Enrol (an unknown number is refused beside the field), approve, book, attend, pass.
        unknown = client.post(f"{session_path}/enrolments", data={"csrf_token": csrf, "talent_id": "NO-SUCH-TALENT"})
        assert unknown.status_code == 422 and 'id="talent_id-error"' in unknown.text
        wait_for_training(test_profile, talent_id)
        enrolled = client.post(f"{session_path}/enrolments", data={"csrf_token": csrf, "talent_id": talent_id})
        assert enrolled.status_code == 303, enrolled.text
        page = client.get(session_path)
        for action, state in (("approve", "Approved"), ("book", "Booked"), ("attendance", "Attended")):
            eid = re.search(r'action="/coordinator/enrolments/([^/"]+)/' + action + '"', page.text)
            assert eid is not None, (action, page.text)
            path = f"/coordinator/enrolments/{eid.group(1)}/{action}"
            done = client.post(path, data={"csrf_token": csrf, "session_id": session_id,
                                           "version": version_in(page.text, path)})
            assert done.status_code == 303, done.text
            page = client.get(session_path)
            assert f"<td>{state}" in page.text, state
        assert eid is not None
        path = f"/coordinator/enrolments/{eid.group(1)}/assessment"
        bad = client.post(path, data={"csrf_token": csrf, "session_id": session_id, "score": "120"})
        assert bad.status_code == 422 and 'id="score-error"' in bad.text
        passed = client.post(path, data={"csrf_token": csrf, "session_id": session_id, "score": "86",
                                         "version": version_in(page.text, path)})
        assert passed.status_code == 303, passed.text
        page = client.get(session_path)
        assert "<td>Completed" in page.text and "LNTC-" in page.text

        # A second talent finds the only seat taken: it waits, and the waiting lists show it.
        second = talent_known_to_training(test_profile, "Qian Yu")
        client.post(f"{session_path}/enrolments", data={"csrf_token": csrf, "talent_id": second})
        for action in ("approve", "book"):
            page = client.get(session_path)
            found = re.search(r'action="(/coordinator/enrolments/[^/"]+/' + action + ')"', page.text)
            assert found is not None, action
            assert client.post(found.group(1), data={"csrf_token": csrf, "session_id": session_id}).status_code == 303
        page = client.get(session_path)
        waitlist = page.text[page.text.index("<h2>Waiting list</h2>"):]
        assert f'href="/coordinator/talents/{second}"' in waitlist and "(position 1)" in waitlist
        waiting = client.get("/coordinator/waitlist")
        assert f'href="/coordinator/sessions/{session_id}"' in waiting.text
        assert f'href="/coordinator/talents/{second}"' in waiting.text


def test_officer_reviews_evaluations_and_activities_and_sees_targets(portal: str, test_profile: Profile) -> None:
    campaign = open_campaign(test_profile, f"4.26 宣传周 {unique_word()}")
    activity = submitted_activity(test_profile, campaign["id"], f"知识产权进社区 {unique_word()}")
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, "officer-q", "officer", None)
        queue = client.get("/officer/activities")
        assert f'href="/officer/activities/{activity["id"]}"' in queue.text
        page = client.get(f"/officer/activities/{activity['id']}")
        csrf = csrf_of(page.text)
        path = f"/officer/activities/{activity['id']}/return"
        short = client.post(path, data={"csrf_token": csrf, "reason": "x", "version": version_in(page.text, path)})
        assert short.status_code == 422 and 'id="reason-error"' in short.text
        assert '<a href="#reason">Reason: ' in short.text
        returned = client.post(path, data={"csrf_token": csrf, "reason": "Please add the schedule",
                                           "version": version_in(page.text, path)})
        assert returned.status_code == 303
        page = client.get(f"/officer/activities/{activity['id']}")
        assert '<dd id="activity-state">Returned</dd>' in page.text and "Please add the schedule" in page.text
        stale = client.post(f"/officer/activities/{activity['id']}/accept",
                            data={"csrf_token": csrf, "version": str(activity["version"])})
        assert stale.status_code == 422 and "Someone changed this meanwhile" in stale.text

        targets = client.get("/officer/targets")
        assert targets.status_code == 200 and "<progress" in targets.text
    with browser(portal) as client:
        home = client.get("/")
        assert "当前宣传活动" in home.text


def test_officer_reviews_an_evaluation_and_suspends_a_talent(portal: str, test_profile: Profile) -> None:
    talent_id = talent_known_to_training(test_profile, "Sun Li")
    evaluation = ok(httpx.post(f"{api_url(test_profile, 'registry')}/v1/evaluations",
                               headers=bearer(test_profile, "coordinator-ev", "coordinator"),
                               json={"talent_id": talent_id, "level": "assistant",
                                     "category": "enterprise_ip_management"}), 201)
    page_path = f"/officer/evaluations/{evaluation['id']}"
    with browser(portal, language="en") as client:
        signed_in(client, test_profile, "officer-ev", "officer", None)
        assert f'href="{page_path}"' in client.get("/officer/evaluations").text
        page = client.get(page_path)
        assert "Not eligible yet." in page.text  # no credit hours yet
        csrf = csrf_of(page.text)
        reviewed = client.post(f"{page_path}/review", data={"csrf_token": csrf,
                                                            "version": version_in(page.text, f"{page_path}/review")})
        assert reviewed.status_code == 303
        page = client.get(page_path)
        assert '<dd id="evaluation-status">Under review</dd>' in page.text
        refused = client.post(f"{page_path}/refuse", data={"csrf_token": csrf, "reasons": " ",
                                                           "version": version_in(page.text, f"{page_path}/refuse")})
        assert refused.status_code == 422 and 'id="reasons-error"' in refused.text
        done = client.post(f"{page_path}/refuse", data={"csrf_token": csrf, "reasons": "Too few credit hours",
                                                        "version": version_in(page.text, f"{page_path}/refuse")})
        assert done.status_code == 303
        assert '<dd id="evaluation-status">Refused</dd>' in client.get(page_path).text
        talent = client.get(f"/coordinator/talents/{talent_id}")
        path = f"/coordinator/talents/{talent_id}/status"
        short = client.post(path, data={"csrf_token": csrf, "status": "suspended", "reason": "x",
                                        "version": version_in(talent.text, path)})
        assert short.status_code == 422 and 'id="reason-error"' in short.text
        suspended = client.post(path, data={"csrf_token": csrf, "status": "suspended", "reason": "Licence lapsed",
                                            "version": version_in(talent.text, path)})
        assert suspended.status_code == 303, suspended.text
        talent = client.get(f"/coordinator/talents/{talent_id}")
        assert '<dd id="talent-status">Suspended</dd>' in talent.text and "Licence lapsed" in talent.text


def test_press_release_needs_a_second_officer_then_reaches_the_news_and_feeds(portal: str,
                                                                              test_profile: Profile) -> None:
    title = f"辽宁省知识产权宣传周开幕 {unique_word()}"
    with browser(portal, language="en") as first:
        signed_in(first, test_profile, "officer-writer", "officer", None)
        csrf = csrf_of(first.get("/officer/releases/new").text)
        empty = first.post("/officer/releases/new", data={"csrf_token": csrf, "kind": "press_release", "title": ""})
        assert empty.status_code == 422 and 'id="title-error"' in empty.text and 'id="body-error"' in empty.text
        drafted = first.post("/officer/releases/new", data={
            "csrf_token": csrf, "kind": "press_release", "title": title, "summary": "宣传周今日开幕",
            "body": "辽宁省知识产权宣传周今日开幕。", "title_en": "IP Publicity Week opens"})
        assert drafted.status_code == 303, drafted.text
        release_path = drafted.headers["location"]
        page = first.get(release_path)
        submitted = first.post(f"{release_path}/submit", data={
            "csrf_token": csrf, "version": version_in(page.text, f"{release_path}/submit")})
        assert submitted.status_code == 303
        page = first.get(release_path)
        assert '<strong id="release-state">Submitted</strong>' in page.text
        # The two-person rule is the API's: the submitter's own publication is refused, and said so.
        own = first.post(f"{release_path}/publish", data={
            "csrf_token": csrf, "version": version_in(page.text, f"{release_path}/publish")})
        assert own.status_code == 422 and "Another officer than the one who submitted this edition" in own.text
        assert f'href="{release_path}"' in first.get("/officer/releases", params={"state": "submitted"}).text
    with browser(portal, language="en") as second:
        signed_in(second, test_profile, "officer-reviewer", "officer", None)
        page = second.get(release_path)
        csrf = csrf_of(page.text)
        soon = second.post(f"{release_path}/schedule", data={
            "csrf_token": csrf, "publish_at": "2020-01-01T09:00", "version": version_in(page.text,
                                                                                       f"{release_path}/schedule")})
        assert soon.status_code == 422 and "at least 5 minutes ahead" in soon.text
        published = second.post(f"{release_path}/publish", data={
            "csrf_token": csrf, "version": version_in(page.text, f"{release_path}/publish")})
        assert published.status_code == 303, published.text
        assert '<strong id="release-state">Published</strong>' in second.get(release_path).text
    release_id = release_path.rsplit("/", 1)[1]
    with browser(portal) as visitor:
        news = visitor.get("/news")
        assert f'href="/news/{release_id}"' in news.text and title in news.text
        assert 'href="/feeds/news.atom"' in news.text and 'href="/feeds/news.json"' in news.text
        assert title in visitor.get(f"/news/{release_id}").text
        atom = visitor.get("/feeds/news.atom")
        assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
        parsed: Any = feedparser.parse(atom.content)
        assert not parsed.bozo and title in [e.title for e in parsed.entries]
        again = visitor.get("/feeds/news.atom", headers={"If-None-Match": atom.headers["etag"]})
        assert again.status_code == 304
        assert title in [i["title"] for i in visitor.get("/feeds/news.json").json()["items"]]
        assert visitor.get("/feeds/secrets").status_code == 404
    # Withdrawn: the page stays, with the notice.
    with browser(portal, language="en") as second:
        signed_in(second, test_profile, "officer-reviewer", "officer", None)
        page = second.get(release_path)
        withdrawn = second.post(f"{release_path}/withdraw", data={
            "csrf_token": csrf_of(page.text), "explanation": "Published by mistake",
            "version": version_in(page.text, f"{release_path}/withdraw")})
        assert withdrawn.status_code == 303, withdrawn.text
    with browser(portal, language="en") as visitor:
        item = visitor.get(f"/news/{release_id}")
        assert "Withdrawn" in item.text and "Published by mistake" in item.text


def test_visitor_registers_for_an_event_waits_and_gives_up(portal: str, test_profile: Profile) -> None:
    event = public_event(test_profile, capacity=1)
    with browser(portal, language="en") as client:
        calendar = client.get("/events")
        assert f'href="/events/{event["id"]}"' in calendar.text and 'href="/feeds/events.ics"' in calendar.text
        ics = client.get("/feeds/events.ics")
        assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
        assert event["title"] in ics.text
        page = client.get(f"/events/{event['id']}")
        csrf = csrf_of(page.text)
        bad = client.post(f"/events/{event['id']}/registrations", data={"csrf_token": csrf, "name": "Li Ming",
                                                                        "email": "not-an-email", "places": "1"})
        assert bad.status_code == 422 and 'id="email-error"' in bad.text
        first = client.post(f"/events/{event['id']}/registrations", data={
            "csrf_token": csrf, "name": "Li Ming", "email": "li.ming@example.cn", "places": "1"})
        assert first.status_code == 303, first.text
        second = client.post(f"/events/{event['id']}/registrations", data={
            "csrf_token": csrf, "name": "Wang Fang", "email": "wang.fang@example.cn", "places": "1"})
        assert second.status_code == 303
        mine, theirs = first.headers["location"], second.headers["location"]
        assert '<dd id="registration-state">Confirmed</dd>' in client.get(mine).text
        waiting = client.get(theirs).text
        assert "On the waiting list (position on the waiting list: 1)" in waiting
        gave_up = client.post(f"{mine}/cancellation", data={"csrf_token": csrf})
        assert gave_up.status_code == 303
        assert '<dd id="registration-state">Given up</dd>' in client.get(mine).text
        assert '<dd id="registration-state">Confirmed</dd>' in client.get(theirs).text  # promoted at once
        assert client.get("/registrations/no-such-registration").status_code == 404
