"""Check-in at several gates at once, against the real stack: each ticket is checked in exactly once
however many gates scan it together, a device's retried upload (same nonce) is the same scan, and the
event's check-in count (a tally kept with each registration's own change) equals the check-ins stored.
A registration whose own copy of its state is missing (written before the copy existed, or a crash
between the event's change and the copy) is settled by the event's entry and its copy repaired. And the
news feeds, rendered once per revision of the feed document, change as soon as a release is published.

Run with IPO_TEST_SERVICES=publicity."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import feedparser
import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from publicity.feeds.routes import FEED_SIZE
from publicity.public_events import store as event_store
from pymongo import MongoClient

from tests.stack.publicity.helpers import act, base, draft, officer, ok
from tests.stack.publicity.test_events_and_checkin import cancel, plan_event, register, scan
from tests.support.tallies import tallies_against_documents

pytestmark = pytest.mark.stack

GATES = 5


def stored_check_ins(p: Profile, event: dict[str, Any]) -> int:
    """Registrations of the event with a check-in, as the organisers' list shows them."""
    listed = ok(httpx.get(f"{base(p)}/v1/events/{event['id']}/registrations?limit=100", headers=officer(p, "pete")))
    return sum(1 for r in listed["items"] if r["checked_in_at"] is not None)


def test_every_gate_at_once_checks_each_ticket_in_once(services: dict[str, ManagedProcess],
                                                       test_profile: Profile) -> None:
    p = test_profile
    event = plan_event(p, capacity=6, title="专利导航讲座")
    regs = [register(p, event, n).json() for n in range(8)]
    confirmed = [r for r in regs if r["state"] == "confirmed"]
    waiting = [r for r in regs if r["state"] == "waitlisted"]
    assert (len(confirmed), len(waiting)) == (6, 2)
    cancel(p, confirmed[0]["id"])  # the head of the waitlist is promoted: its copy says confirmed
    admitted = [*confirmed[1:], waiting[0]]
    still_waiting = waiting[1]

    # Every ticket at every gate, all at once.
    work = [(r["ticket_code"], f"gate-{g}") for r in [*admitted, still_waiting, confirmed[0]] for g in range(GATES)]
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        answers = list(pool.map(lambda w: scan(p, event, w[0], w[1]), work))
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers if a.status_code != 201]
    by_ticket: dict[str, list[str]] = {}
    for (ticket, _gate), answer in zip(work, answers, strict=True):
        by_ticket.setdefault(ticket, []).append(answer.json()["outcome"])
    for r in admitted:
        assert sorted(by_ticket[r["ticket_code"]]) == ["already_checked_in"] * (GATES - 1) + ["ok"]
    assert by_ticket[still_waiting["ticket_code"]] == ["not_confirmed"] * GATES
    assert by_ticket[confirmed[0]["ticket_code"]] == ["cancelled"] * GATES

    # A device uploading the same scan twice at once: one scan, one answer.
    late = register(p, event, 50).json()  # waitlisted behind still_waiting
    cancel(p, admitted[0]["id"])  # frees a place: still_waiting, first in line, is promoted
    assert [ok(httpx.get(f"{base(p)}/v1/public/registrations/{r['id']}"))["state"]
            for r in (still_waiting, late)] == ["confirmed", "waitlisted"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        twice = list(pool.map(lambda _n: scan(p, event, still_waiting["ticket_code"], "handheld-1",
                                               nonce="same-upload-0001"), range(2)))
    assert sorted(a.status_code for a in twice) == [200, 201]
    assert [a.json()["outcome"] for a in twice] == ["ok", "ok"]

    # The count is the check-ins stored, and the tally equals what the registrations contribute.
    report = ok(httpx.get(f"{base(p)}/v1/events/{event['id']}/reconciliation", headers=officer(p, "pete")))
    assert report["checked_in"] == stored_check_ins(p, event) == len(admitted) + 1
    assert report["by_outcome"] == {"ok": len(admitted) + 1, "already_checked_in": len(admitted) * (GATES - 1),
                                    "not_confirmed": GATES, "cancelled": GATES}


async def test_the_check_in_tallies_equal_the_check_ins_stored(test_profile: Profile) -> None:
    """Runs after this module's scans: every event's count equals a recount from its registrations."""
    stored, recounted = await tallies_against_documents(test_profile.mongo_url, f"publicity_{test_profile.name}",
                                                        [event_store.REGISTRATION])
    events = {k: v for k, v in recounted.items() if k.startswith("event:")}
    assert events  # the module checked people in
    assert {k: stored.get(k) for k in events} == events


def test_a_registration_without_its_copy_is_settled_by_the_event(services: dict[str, ManagedProcess],
                                                                 test_profile: Profile) -> None:
    p = test_profile
    event = plan_event(p, capacity=1, title="商标品牌讲座")
    first, second = (register(p, event, n).json() for n in range(2))
    db: Any = MongoClient(p.mongo_url)[f"publicity_{p.name}"]
    # As a registration written before the copy existed, or a crash between the event's change and it.
    db["registrations"].update_many({"_id": {"$in": [first["id"], second["id"]]}}, {"$unset": {"state": ""}})
    assert scan(p, event, second["ticket_code"], "gate-1").json()["outcome"] == "not_confirmed"
    assert scan(p, event, first["ticket_code"], "gate-1").json()["outcome"] == "ok"
    assert db["registrations"].find_one({"_id": first["id"]})["state"] == "confirmed"  # repaired
    assert scan(p, event, first["ticket_code"], "gate-2").json()["outcome"] == "already_checked_in"


def test_the_feeds_change_as_soon_as_a_release_is_published(services: dict[str, ManagedProcess],
                                                           test_profile: Profile) -> None:
    p = test_profile
    first = httpx.get(f"{base(p)}/v1/feeds/news.atom")
    assert httpx.get(f"{base(p)}/v1/feeds/news.atom").headers["ETag"] == first.headers["ETag"]
    release = draft(p, "alice", title="知识产权宣传周闭幕")
    release = act(p, act(p, release, "submission", "alice"), "publication", "bob")
    atom = httpx.get(f"{base(p)}/v1/feeds/news.atom")
    assert atom.headers["ETag"] != first.headers["ETag"]
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo and parsed.entries[0].id.endswith(f"/releases/{release['id']}")
    assert len(parsed.entries) <= FEED_SIZE
    items = ok(httpx.get(f"{base(p)}/v1/feeds/news.json"))["items"]
    assert items[0]["id"] == parsed.entries[0].id and len(items) <= FEED_SIZE
