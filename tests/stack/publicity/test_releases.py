"""Press releases against the real stack: the editorial state machine, the two-person rule, force-publish
and its approval, the embargo (invisible before by id, list and feeds; visible just after; published
after a restart that happened while it was due), withdrawal, editions and the feeds' conditional GET.

Run with IPO_TEST_SERVICES=publicity."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import feedparser
import httpx
import icalendar
import jsonschema
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from publicity.releases import store as release_store

from tests.stack.publicity.helpers import act, base, draft, in_feeds, officer, ok, public_status
from tests.support.stack import eventually
from tests.support.tallies import tallies_against_documents

pytestmark = pytest.mark.stack

EMBARGO_SECONDS = 3  # PUBLICITY_MIN_EMBARGO_SECONDS in tests/conftest.py


def test_review_two_person_rule_publish_withdraw_and_new_edition(services: dict[str, ManagedProcess],
                                                               test_profile: Profile) -> None:
    p = test_profile
    release = draft(p, "alice")
    assert release["state"] == "draft" and release["public"] is None
    assert public_status(p, release["id"]) == 404
    # A draft cannot be published through review; it must be submitted first.
    act(p, release, "publication", "bob", status=409)
    release = act(p, release, "submission", "alice")
    assert release["state"] == "submitted" and release["submitted_by"] == "alice"
    # Two-person rule: whoever submitted cannot publish or schedule.
    refused = act(p, release, "publication", "alice", status=409)
    assert refused["type"].endswith("two-person-rule")
    act(p, release, "scheduling", "alice", {"publish_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
        status=409)
    # Rejected with a reason, edited (back to draft), resubmitted, published by another officer.
    release = act(p, release, "rejection", "bob", {"reason": "标题需要更具体"})
    assert release["state"] == "rejected"
    response = httpx.put(f"{base(p)}/v1/releases/{release['id']}/content",
                         headers={**officer(p, "alice"), "If-Match": f'"{release["version"]}"'},
                         json={"title": "2027年知识产权宣传周开幕", "body": "辽宁省知识产权宣传周今日在沈阳开幕。"})
    release = ok(response)
    assert release["state"] == "draft"
    release = act(p, act(p, release, "submission", "alice"), "publication", "bob")
    assert release["state"] == "published" and release["public"]["edition"] == 1
    assert ok(httpx.get(f"{base(p)}/v1/public/releases/{release['id']}"))["title"] == "2027年知识产权宣传周开幕"
    assert all(in_feeds(p, release["id"]))

    # A new edition: the public keeps edition 1 until edition 2 is published, which supersedes it.
    release = act(p, release, "editions", "alice", {"change_note": "补充开幕式地点"})
    assert release["state"] == "draft" and release["edition"] == 2
    act(p, release, "editions", "alice", {"change_note": "again"}, status=409)  # one unpublished edition
    response = httpx.put(f"{base(p)}/v1/releases/{release['id']}/content",
                         headers={**officer(p, "alice"), "If-Match": f'"{release["version"]}"'},
                         json={"title": "2027年知识产权宣传周在沈阳开幕", "body": "开幕式在沈阳举行。"})
    release = ok(response)
    assert ok(httpx.get(f"{base(p)}/v1/public/releases/{release['id']}"))["edition"] == 1
    release = act(p, act(p, release, "submission", "alice"), "publication", "carol")
    public = ok(httpx.get(f"{base(p)}/v1/public/releases/{release['id']}"))
    assert public["edition"] == 2 and public["change_note"] == "补充开幕式地点"
    assert public["title"] == "2027年知识产权宣传周在沈阳开幕"

    # Withdrawn: the page stays, with the explanation; it stays in the feeds, marked.
    release = act(p, release, "withdrawal", "carol", {"explanation": "活动改期; 另行通知"})
    assert release["state"] == "withdrawn"
    public = ok(httpx.get(f"{base(p)}/v1/public/releases/{release['id']}"))
    assert public["withdrawn"]["explanation"] == "活动改期; 另行通知"
    atom = feedparser.parse(httpx.get(f"{base(p)}/v1/feeds/news.atom").content)
    entry = next(e for e in atom.entries if e.id.endswith(release["id"]))
    assert "Withdrawn" in entry.title
    actions = [h["action"] for h in release["history"]]
    assert actions == ["create", "submit", "reject", "edit", "submit", "publish", "new_edition", "edit", "submit",
                       "publish", "withdraw"]


def test_force_publish_is_listed_until_another_officer_approves(services: dict[str, ManagedProcess],
                                                              test_profile: Profile) -> None:
    p = test_profile
    release = draft(p, "dora")
    act(p, release, "forced-publication", "dora", {}, status=422)  # a reason is required
    release = act(p, release, "forced-publication", "dora", {"reason": "突发事件需立即发布"})
    assert release["state"] == "published" and release["forced"]["by"] == "dora"
    assert public_status(p, release["id"]) == 200
    dashboard = ok(httpx.get(f"{base(p)}/v1/releases?forced=unapproved&limit=100", headers=officer(p, "erin")))
    assert release["id"] in [r["id"] for r in dashboard["items"]]
    refused = act(p, release, "forced-publication/approval", "dora", status=409)
    assert refused["type"].endswith("two-person-rule")
    release = act(p, release, "forced-publication/approval", "erin")
    assert release["forced"]["approved_by"] == "erin"
    dashboard = ok(httpx.get(f"{base(p)}/v1/releases?forced=unapproved&limit=100", headers=officer(p, "erin")))
    assert release["id"] not in [r["id"] for r in dashboard["items"]]


def _scheduled(p: Profile, seconds: float) -> tuple[dict[str, object], datetime]:
    release = act(p, draft(p, "frank"), "submission", "frank")
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    release = act(p, release, "scheduling", "grace", {"publish_at": at.isoformat()})
    assert release["state"] == "scheduled"
    return release, at


def test_embargo_invisible_before_visible_just_after(services: dict[str, ManagedProcess],
                                                     test_profile: Profile) -> None:
    p = test_profile
    too_soon = act(p, draft(p, "frank"), "submission", "frank")
    refused = act(p, too_soon, "scheduling", "grace",
                  {"publish_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}, status=409)
    assert refused["type"].endswith("embargo-too-soon")
    release, at = _scheduled(p, EMBARGO_SECONDS + 2)
    release_id = str(release["id"])
    # Before the embargo: nothing, by id, in the list or in either feed; and no cache outlives it.
    assert public_status(p, release_id) == 404
    assert in_feeds(p, release_id) == (False, False, False)
    feed = httpx.get(f"{base(p)}/v1/feeds/news.json")
    max_age = int(feed.headers["Cache-Control"].rsplit("=", 1)[1])
    assert max_age <= (at - datetime.now(UTC)).total_seconds() + 1
    # Just after: published by the scheduler within seconds, everywhere.
    eventually(lambda: public_status(p, release_id) == 200, timeout=10, what="the release after its embargo")
    assert datetime.now(UTC) >= at
    assert in_feeds(p, release_id) == (True, True, True)
    body = ok(httpx.get(f"{base(p)}/v1/releases/{release_id}", headers=officer(p, "grace")))
    assert body["state"] == "published" and body["history"][-1]["action"] == "publish_on_schedule"


def test_a_release_due_while_the_api_was_down_is_published_at_start(services: dict[str, ManagedProcess],
                                                                   test_profile: Profile) -> None:
    p = test_profile
    release, at = _scheduled(p, EMBARGO_SECONDS + 1)
    api = services["publicity-api"]
    api.stop()
    try:
        while datetime.now(UTC) < at + timedelta(seconds=1):  # let the embargo pass while nothing runs
            time.sleep(0.2)
    finally:
        api.start()
        api.wait_healthy(60)
    eventually(lambda: public_status(p, str(release["id"])) == 200, timeout=10,
               what="the overdue release published after the restart")


def test_feeds_parse_and_answer_304(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    p = test_profile
    submitted = act(p, draft(p, "henry", "知识产权保护典型案例发布"), "submission", "henry")
    release = act(p, submitted, "publication", "iris")
    atom_response = httpx.get(f"{base(p)}/v1/feeds/news.atom")
    assert atom_response.headers["content-type"].startswith("application/atom+xml")
    atom = feedparser.parse(atom_response.content)
    assert not atom.bozo, atom.bozo_exception
    assert atom.feed.id and any(link.rel == "self" for link in atom.feed.links)
    entry = next(e for e in atom.entries if e.id.endswith(release["id"]))
    assert entry.title == "知识产权保护典型案例发布" and entry.updated and entry.published
    alternate = next(link for link in entry.links if link.rel == "alternate")
    assert alternate.href.endswith(f"/v1/public/releases/{release['id']}")
    assert alternate.type == "application/json"  # the attribute survives (feedgen would drop it)
    # Conditional GET.
    tag = atom_response.headers["ETag"]
    assert httpx.get(f"{base(p)}/v1/feeds/news.atom", headers={"If-None-Match": tag}).status_code == 304

    json_response = httpx.get(f"{base(p)}/v1/feeds/news.json")
    assert json_response.headers["content-type"].startswith("application/feed+json")
    document = json_response.json()
    jsonschema.validate(document, JSON_FEED_1_1)
    item = next(i for i in document["items"] if i["id"].endswith(release["id"]))
    assert item["id"] == entry.id  # the same stable id in both feeds
    assert httpx.get(f"{base(p)}/v1/feeds/news.json",
                     headers={"If-None-Match": json_response.headers["ETag"]}).status_code == 304

    calendar = httpx.get(f"{base(p)}/v1/feeds/events.ics")
    assert calendar.headers["content-type"].startswith("text/calendar")
    icalendar.Calendar.from_ical(calendar.content)


# The rules of JSON Feed 1.1 (https://jsonfeed.org/version/1.1) as a JSON Schema: required members,
# types, and that each item has an id and some content.
JSON_FEED_1_1 = {
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string"},
        "home_page_url": {"type": "string", "format": "uri"},
        "feed_url": {"type": "string", "format": "uri"},
        "language": {"type": "string"},
        "authors": {"type": "array", "items": {"type": "object", "anyOf": [
            {"required": ["name"]}, {"required": ["url"]}, {"required": ["avatar"]}]}},
        "items": {"type": "array", "items": {
            "type": "object",
            "required": ["id"],
            "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
            "properties": {
                "id": {"type": "string"},
                "url": {"type": "string"},
                "title": {"type": "string"},
                "content_text": {"type": "string"},
                "summary": {"type": "string"},
                "date_published": {"type": "string", "format": "date-time"},
                "date_modified": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        }},
    },
}


async def test_the_release_tallies_equal_what_the_releases_contribute(test_profile: Profile) -> None:
    """Runs after this module's releases: the gauges' counts by kind and state, and of force-published
    releases awaiting approval, were kept with each change and equal a recount from the releases."""
    stored, recounted = await tallies_against_documents(test_profile.mongo_url, f"publicity_{test_profile.name}",
                                                        [release_store.AGGREGATE])
    assert recounted.get(release_store.TALLY)  # the module made releases
    assert stored.get(release_store.TALLY) == recounted[release_store.TALLY]
