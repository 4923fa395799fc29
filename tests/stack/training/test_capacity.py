"""Capacity holds under concurrent requests (no transactions: one compare-and-set update of the session
document per change), and the waitlist is promoted first-in, first-out when seats free."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess

from tests.stack.training.support import (
    active_talents,
    as_talent,
    command,
    coordinator_of,
    create_course,
    create_session,
    enrol,
    enrolment,
    new_base,
    ok,
    training,
)

pytestmark = pytest.mark.stack


def test_concurrent_bookings_never_exceed_capacity(services: dict[str, ManagedProcess],
                                                         test_profile: Profile) -> None:
    base = new_base()
    talents = active_talents(test_profile, 12)
    course = create_course(test_profile, base)
    session = create_session(test_profile, base, course["id"], capacity=3)
    own = coordinator_of(test_profile, base)
    url = training(test_profile)

    # Twelve talents ask at once; every request is recorded exactly once.
    def ask(talent: str) -> httpx.Response:
        return httpx.post(f"{url}/v1/sessions/{session['id']}/enrolments", json={"talent_id": talent},
                          headers=as_talent(test_profile, talent), timeout=30)

    with ThreadPoolExecutor(12) as pool:
        asked = list(pool.map(ask, talents))
    assert [r.status_code for r in asked] == [201] * 12, [r.text for r in asked if r.status_code != 201]
    ids = [r.json()["id"] for r in asked]
    assert len(set(ids)) == 12
    for eid in ids:
        ok(command(test_profile, eid, "approve", own), "approved")

    # All twelve book at the same moment: exactly three seats, nine waiting in distinct places.
    def book(pair: tuple[str, str]) -> httpx.Response:
        eid, talent = pair
        return command(test_profile, eid, "book", as_talent(test_profile, talent))

    with ThreadPoolExecutor(12) as pool:
        booked = list(pool.map(book, zip(ids, talents, strict=True)))
    assert all(r.status_code == 200 for r in booked), [r.text for r in booked if r.status_code != 200]
    states = [r.json()["state"] for r in booked]
    assert states.count("booked") == 3 and states.count("waitlisted") == 9
    queue = sorted((r.json()["queue_position"], r.json()["id"]) for r in booked if r.json()["state"] == "waitlisted")
    assert len({position for position, _ in queue}) == 9
    shown = httpx.get(f"{url}/v1/sessions/{session['id']}").json()
    assert (shown["seats_taken"], shown["seats_free"], shown["waitlisted"]) == (3, 0, 9)

    # Cancelling two bookings at once frees two seats: the two longest-waiting are booked, in order.
    seated = [r.json()["id"] for r in booked if r.json()["state"] == "booked"]
    with ThreadPoolExecutor(2) as pool:
        cancels = list(pool.map(lambda eid: command(test_profile, eid, "cancel", own, {"reason": "moved"}),
                                seated[:2]))
    assert [r.status_code for r in cancels] == [200, 200]
    first_two = [eid for _, eid in queue[:2]]
    assert [enrolment(test_profile, eid, own)["state"] for eid in first_two] == ["booked", "booked"]
    assert enrolment(test_profile, queue[2][1], own)["state"] == "waitlisted"

    # A larger capacity books the next ones at once, still first in, first out.
    grown = httpx.patch(f"{url}/v1/sessions/{session['id']}", json={"capacity": 6},
                        headers={**own, "If-Match": f'"{shown["version"]}"'})
    assert grown.status_code == 200, grown.text
    assert (grown.json()["seats_taken"], grown.json()["waitlisted"]) == (6, 4)
    assert [enrolment(test_profile, eid, own)["state"] for _, eid in queue[2:5]] == ["booked"] * 3
    assert enrolment(test_profile, queue[5][1], own)["state"] == "waitlisted"
    # And it cannot shrink below the seats given.
    shrink = httpx.patch(f"{url}/v1/sessions/{session['id']}", json={"capacity": 2},
                         headers={**own, "If-Match": f'"{grown.json()["version"]}"'})
    assert shrink.status_code == 409, shrink.text
    assert httpx.get(f"{url}/v1/sessions/{session['id']}").json()["capacity"] == 6


def test_the_same_talent_asking_twice_at_once_gets_one_enrolment(services: dict[str, ManagedProcess],
                                                                       test_profile: Profile) -> None:
    base = new_base()
    [talent] = active_talents(test_profile, 1)
    session = create_session(test_profile, base, create_course(test_profile, base)["id"], capacity=5)
    url = training(test_profile)

    def ask(_: int) -> int:
        return httpx.post(f"{url}/v1/sessions/{session['id']}/enrolments", json={"talent_id": talent},
                          headers=as_talent(test_profile, talent), timeout=30).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(ask, range(6)))
    assert codes == [201, 409, 409, 409, 409, 409]
    listed = httpx.get(f"{url}/v1/sessions/{session['id']}/enrolments",
                       headers=coordinator_of(test_profile, base)).json()["items"]
    assert len(listed) == 1
    # After a cancellation the talent may ask again: a new enrolment.
    ok(command(test_profile, listed[0]["id"], "cancel", as_talent(test_profile, talent), {"reason": "oops"}),
       "cancelled")
    assert enrol(test_profile, session["id"], talent)["id"] != listed[0]["id"]
