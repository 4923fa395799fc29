"""Public events against the real stack: capacity, confirmed or waitlisted, FIFO promotion exact under
concurrent registrations and cancellations, group registrations all or nothing, the unguessable
cancellation link, check-in scans (outcomes, nonce retries, concurrent scans of one ticket from several
gates, offline uploads) and the reconciliation report; contact data only for the organisers, never on
Kafka or in the feeds.

Run with IPO_TEST_SERVICES=publicity."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess

from tests.stack.publicity.helpers import base, officer, ok
from tests.support.kafka import read_records
from tests.support.stack import eventually

pytestmark = pytest.mark.stack

Json = dict[str, Any]


def plan_event(p: Profile, capacity: int, organiser: str = "olga", title: str = "知识产权进校园") -> Json:
    starts = datetime.now(UTC) + timedelta(days=3)
    return ok(httpx.post(f"{base(p)}/v1/events", headers=officer(p, organiser), json={
        "title": title, "venue": "Shenyang Library", "region_code": "210100", "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(), "capacity": capacity, "organisers": ["pete"]}), 201)


def register(p: Profile, event: Json, n: int, places: int = 1) -> httpx.Response:
    return httpx.post(f"{base(p)}/v1/events/{event['id']}/registrations", timeout=30, json={
        "name": f"Registrant {n}", "email": f"person{n}.{uuid.uuid4().hex[:6]}@example.cn", "places": places})


def mine(p: Profile, registration_id: str) -> Json:
    return ok(httpx.get(f"{base(p)}/v1/public/registrations/{registration_id}"))


def cancel(p: Profile, registration_id: str) -> Json:
    return ok(httpx.post(f"{base(p)}/v1/public/registrations/{registration_id}/cancellation", timeout=30))


def scan(p: Profile, event: Json, ticket: str, device: str, *, nonce: str | None = None, offline: bool = False,
         scanned_at: datetime | None = None, who: str = "pete") -> httpx.Response:
    return httpx.post(f"{base(p)}/v1/events/{event['id']}/scans", headers=officer(p, who), timeout=30, json={
        "ticket_code": ticket, "nonce": nonce or uuid.uuid4().hex, "device_id": device, "gate": device,
        "scanned_at": (scanned_at or datetime.now(UTC)).isoformat(), "offline": offline})


def test_waitlist_is_exact_and_fifo_under_concurrency(services: dict[str, ManagedProcess],
                                                      test_profile: Profile) -> None:
    p = test_profile
    event = plan_event(p, capacity=5)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda n: register(p, event, n), range(12)))
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers if a.status_code != 201]
    regs = [a.json() for a in answers]
    confirmed = [r for r in regs if r["state"] == "confirmed"]
    waiting = sorted((r for r in regs if r["state"] == "waitlisted"), key=lambda r: r["waitlist_position"])
    assert len(confirmed) == 5 and len(waiting) == 7
    assert [r["waitlist_position"] for r in waiting] == [1, 2, 3, 4, 5, 6, 7]
    public = ok(httpx.get(f"{base(p)}/v1/events/{event['id']}"))
    assert (public["confirmed_places"], public["waitlisted_places"], public["places_left"]) == (5, 7, 0)
    # Tickets and links are unguessable.
    assert len({r["ticket_code"] for r in regs}) == 12 and all(len(r["ticket_code"]) >= 16 for r in regs)
    assert all(len(r["id"]) >= 24 for r in regs)

    # A group of 2 while people wait: waitlisted whole. Larger than the event: refused.
    group = register(p, event, 100, places=2).json()
    assert group["state"] == "waitlisted" and group["waitlist_position"] == 8
    assert register(p, event, 101, places=6).status_code == 409

    # Three places freed at once, concurrently: exactly the first three in line are promoted.
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda r: cancel(p, r["id"]), confirmed[:3]))
    states = {r["id"]: mine(p, r["id"]) for r in waiting}
    assert [states[r["id"]]["state"] for r in waiting] == ["confirmed"] * 3 + ["waitlisted"] * 4
    assert [states[r["id"]]["waitlist_position"] for r in waiting[3:]] == [1, 2, 3, 4]
    assert cancel(p, confirmed[0]["id"])["state"] == "cancelled"  # twice: nothing more happens
    public = ok(httpx.get(f"{base(p)}/v1/events/{event['id']}"))
    assert (public["confirmed_places"], public["waitlisted_places"]) == (5, 4 + 2)


def test_contact_data_only_for_organisers(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    p = test_profile
    event = plan_event(p, capacity=3, title="知识产权开放日")
    registration = register(p, event, 7).json()
    email = registration["email"]
    assert email not in httpx.get(f"{base(p)}/v1/events/{event['id']}").text
    listed = ok(httpx.get(f"{base(p)}/v1/events/{event['id']}/registrations", headers=officer(p, "pete")))
    assert [r["email"] for r in listed["items"]] == [email]
    for outsider in ("quinn",):
        assert httpx.get(f"{base(p)}/v1/events/{event['id']}/registrations",
                         headers=officer(p, outsider)).status_code == 404
    calendar = httpx.get(f"{base(p)}/v1/feeds/events.ics").text
    assert f"event-{event['id']}" in calendar
    assert registration["id"] not in calendar and email not in calendar and "cancellation" not in calendar

    def on_kafka() -> list[bytes]:
        return [r.value for r in asyncio.run(read_records(p, "publicity.events")) if r.key == event["id"].encode()]

    values = eventually(on_kafka, timeout=20, what="the event's counts on publicity.events")
    assert all(email.encode() not in v and b"Registrant" not in v for v in values)
    counts = json.loads(values[-1])["data"]
    assert counts["confirmed_places"] == 1 and counts["event_id"] == event["id"]


def test_check_in_scans(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    p = test_profile
    event = plan_event(p, capacity=2, title="专利检索讲座")
    other = plan_event(p, capacity=2, title="商标讲座")
    first, second, third = (register(p, event, n).json() for n in range(3))
    foreign = register(p, other, 9).json()
    assert third["state"] == "waitlisted"

    # The same ticket at three gates at once: exactly one check-in.
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda g: scan(p, event, first["ticket_code"], f"gate-{g}"), range(3)))
    outcomes = sorted(a.json()["outcome"] for a in answers)
    assert outcomes == ["already_checked_in", "already_checked_in", "ok"]
    # A retried upload of the same scan (same nonce) is the same scan.
    nonce = uuid.uuid4().hex
    once = scan(p, event, second["ticket_code"], "gate-1", nonce=nonce)
    again = scan(p, event, second["ticket_code"], "gate-1", nonce=nonce)
    assert (once.status_code, again.status_code) == (201, 200)
    assert once.json()["outcome"] == again.json()["outcome"] == "ok"
    # Every failing scan is recorded with its reason.
    assert scan(p, event, "no-such-ticket-code", "gate-1").json()["outcome"] == "unknown"
    assert scan(p, event, third["ticket_code"], "gate-1").json()["outcome"] == "not_confirmed"
    assert scan(p, event, foreign["ticket_code"], "gate-1").json()["outcome"] == "other_event"
    cancel(p, first["id"])  # third is promoted; first's ticket is now cancelled
    assert scan(p, event, first["ticket_code"], "gate-2").json()["outcome"] == "cancelled"
    # An offline scan uploaded later: accepted, flagged.
    offline = scan(p, event, third["ticket_code"], "handheld-7", offline=True,
                   scanned_at=datetime.now(UTC) - timedelta(minutes=30)).json()
    assert offline["outcome"] == "ok" and offline["offline"] and offline["late_upload"]
    # Only organisers scan.
    assert scan(p, event, second["ticket_code"], "gate-1", who="quinn").status_code == 404

    report = ok(httpx.get(f"{base(p)}/v1/events/{event['id']}/reconciliation", headers=officer(p, "pete")))
    assert report["checked_in"] == 3
    assert report["by_outcome"]["ok"] == 3 and report["by_outcome"]["already_checked_in"] == 2
    duplicate = next(d for d in report["duplicates_across_devices"] if d["registration_id"] == first["id"])
    assert duplicate["devices"] == ["gate-0", "gate-1", "gate-2"] and duplicate["scans"] == 3
    assert [s["device_id"] for s in report["late_uploads"]] == ["handheld-7"]
    assert mine(p, second["id"])["checked_in_at"] is not None
