"""The feeds' rendering, parsed back by independent parsers: Atom by feedparser, iCalendar by icalendar."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import feedparser
import icalendar
from publicity.feeds import render

AT = datetime(2027, 4, 20, 9, 0, tzinfo=UTC)


def item(release_id: str, withdrawn: bool = False) -> dict[str, Any]:
    public = {"title": "宣传周开幕", "summary": "摘要", "body": "正文", "body_en": "Body", "edition": 2,
              "first_published_at": AT, "updated_at": AT + timedelta(hours=1),
              "withdrawn": {"explanation": "改期", "at": AT + timedelta(hours=1)} if withdrawn else None}
    return {"_id": release_id, "kind": "press_release", "public": public, "public_updated_at": public["updated_at"]}


def test_atom_keeps_ids_links_dates_and_withdrawal_notices() -> None:
    parsed = feedparser.parse(render.atom([item("PR-1"), item("PR-2", withdrawn=True)], "https://x.cn", AT))
    assert not parsed.bozo
    assert parsed.feed.id == "tag:ipo.ln.cn,2026:publicity/feed"
    assert [link.rel for link in parsed.feed.links] == ["self", "alternate"]
    first, second = parsed.entries
    assert first.id == "tag:ipo.ln.cn,2026:publicity/releases/PR-1"
    assert first.updated_parsed[:5] == (2027, 4, 20, 10, 0) and first.published_parsed[:5] == (2027, 4, 20, 9, 0)
    assert first.links[0].type == "application/json" and first.links[0].href == "https://x.cn/v1/public/releases/PR-1"
    assert "Withdrawn" in second.title and "改期" in second.summary


def test_json_feed_items_share_the_atom_ids() -> None:
    document = json.loads(render.json_feed([item("PR-1")], "https://x.cn"))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["items"][0]["id"] == "tag:ipo.ln.cn,2026:publicity/releases/PR-1"
    assert document["items"][0]["date_modified"] == "2027-04-20T10:00:00Z"


def test_calendar_all_day_items_end_the_day_after_and_uids_are_stable() -> None:
    entries = [{"uid_key": "fair-F1", "title": "Fair", "starts_on": date(2027, 4, 24), "ends_on": date(2027, 4, 26)},
               {"uid_key": "event-E1", "title": "Talk", "starts_at": AT, "ends_at": AT + timedelta(hours=2),
                "path": "/v1/events/E1"}]
    once = render.calendar(entries, "https://x.cn", AT)
    assert once == render.calendar(entries, "https://x.cn", AT)
    events = [c for c in icalendar.Calendar.from_ical(once).walk("VEVENT")]
    fair, talk = events
    assert str(fair["UID"]) == "fair-F1@publicity.ipo.ln.cn"
    assert fair.decoded("DTSTART") == date(2027, 4, 24) and fair.decoded("DTEND") == date(2027, 4, 27)
    assert talk.decoded("DTEND") - talk.decoded("DTSTART") == timedelta(hours=2)
    assert str(talk["URL"]) == "https://x.cn/v1/events/E1"
