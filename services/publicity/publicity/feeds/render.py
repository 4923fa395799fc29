"""The public feeds, rendered from published releases and news (and campaigns and fairs for the
calendar). Pure: documents in, bytes out.

- Atom (RFC 4287) with the standard library's ElementTree: feedgen, the usual choice, is unmaintained
  and drops link attributes, and Atom is small enough to write directly;
- JSON Feed 1.1 (https://jsonfeed.org/version/1.1);
- iCalendar (RFC 5545) with the `icalendar` library: all-day items with an exclusive DTEND (the day
  after the last day), stable UIDs derived from the item's id, and no links but public pages.

Entry ids are tag URIs built from the release id (never reused: ids are random) and so stable across
editions; `updated` is when the public last saw a change (a new edition or a withdrawal). A withdrawn
item stays in the feeds, its title marked and its explanation shown.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import icalendar

from publicity.common import as_utc

ATOM_NS = "http://www.w3.org/2005/Atom"
TAG_AUTHORITY = "ipo.ln.cn,2026"
FEED_TITLE = "辽宁省知识产权局 新闻发布 / Liaoning IPO news"
AUTHOR = "Liaoning Intellectual Property Office"


def entry_id(release_id: str) -> str:
    return f"tag:{TAG_AUTHORITY}:publicity/releases/{release_id}"


def _rfc3339(value: datetime) -> str:
    return as_utc(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _title(public: dict[str, Any]) -> str:
    return f"[已撤回 Withdrawn] {public['title']}" if public.get("withdrawn") else str(public["title"])


def _text(public: dict[str, Any]) -> str:
    parts = []
    if public.get("withdrawn"):
        parts.append(f"已撤回 / Withdrawn: {public['withdrawn']['explanation']}")
    parts.append(str(public["body"]))
    if public.get("body_en"):
        parts.append(str(public["body_en"]))
    return "\n\n".join(parts)


def atom(items: list[dict[str, Any]], base_url: str, updated: datetime) -> bytes:
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    sub(feed, "id", f"tag:{TAG_AUTHORITY}:publicity/feed")
    sub(feed, "title", FEED_TITLE)
    sub(feed, "updated", _rfc3339(updated))
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base_url}/v1/feeds/news.atom")
    sub(feed, "link", rel="alternate", type="application/json", href=f"{base_url}/v1/public/releases")
    author = sub(feed, "author")
    sub(author, "name", AUTHOR)
    for item in items:
        public = item["public"]
        entry = sub(feed, "entry")
        sub(entry, "id", entry_id(item["_id"]))
        sub(entry, "title", _title(public))
        sub(entry, "updated", _rfc3339(public["updated_at"]))
        sub(entry, "published", _rfc3339(public["first_published_at"]))
        sub(entry, "link", rel="alternate", type="application/json",
            href=f"{base_url}/v1/public/releases/{item['_id']}")
        if public.get("summary") or public.get("withdrawn"):
            summary = public["withdrawn"]["explanation"] if public.get("withdrawn") else public["summary"]
            sub(entry, "summary", summary, type="text")
        sub(entry, "content", _text(public), type="text")
        sub(entry, "category", term=item.get("kind", "press_release"))
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + bytes(ET.tostring(feed, encoding="utf-8"))


def json_feed(items: list[dict[str, Any]], base_url: str) -> bytes:
    out: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": FEED_TITLE,
        "home_page_url": f"{base_url}/v1/public/releases",
        "feed_url": f"{base_url}/v1/feeds/news.json",
        "language": "zh-CN",
        "authors": [{"name": AUTHOR}],
        "items": [],
    }
    for item in items:
        public = item["public"]
        entry: dict[str, Any] = {
            "id": entry_id(item["_id"]),
            "url": f"{base_url}/v1/public/releases/{item['_id']}",
            "title": _title(public),
            "content_text": _text(public),
            "date_published": _rfc3339(public["first_published_at"]),
            "date_modified": _rfc3339(public["updated_at"]),
            "tags": [item.get("kind", "press_release")] + (["withdrawn"] if public.get("withdrawn") else []),
        }
        summary = public["withdrawn"]["explanation"] if public.get("withdrawn") else public.get("summary")
        if summary:
            entry["summary"] = summary
        out["items"].append(entry)
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()


def calendar(entries: list[dict[str, Any]], base_url: str, stamp: datetime) -> bytes:
    """`entries`: {uid_key, title, starts_on and ends_on (all-day, inclusive) or starts_at and ends_at,
    location, description, path}."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Liaoning IPO//publicity//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "辽宁省知识产权宣传活动 / Liaoning IP publicity events")
    for item in entries:
        event = icalendar.Event()
        event.add("uid", f"{item['uid_key']}@publicity.ipo.ln.cn")
        event.add("dtstamp", as_utc(stamp))
        event.add("summary", item["title"])
        if "starts_at" in item:  # a timed event, in UTC
            event.add("dtstart", item["starts_at"])
            event.add("dtend", item["ends_at"])
        else:
            starts: date = item["starts_on"]
            ends: date = item["ends_on"]
            event.add("dtstart", starts)
            event.add("dtend", ends + timedelta(days=1))  # exclusive end of an all-day event (RFC 5545 3.6.1)
        if item.get("location"):
            event.add("location", item["location"])
        if item.get("description"):
            event.add("description", item["description"])
        if item.get("path"):
            event.add("url", f"{base_url}{item['path']}")
        cal.add_component(event)
    return bytes(cal.to_ical())
