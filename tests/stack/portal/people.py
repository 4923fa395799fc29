"""What the pages and browser tests of the coordinator's, officer's and publicity pages set up through
the APIs: an employer and its talent (known to training), a course and session of a training base, an
open campaign, a public event and a unit's campaign activity."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from devstack.layout import Profile
from registry.talents.identity import identity_check_character

from tests.stack.trading_catalogue.support import register_organisation, unique_word
from tests.support.stack import api_url, eventually, token

DEMO_BASE = "12210000MB0DE0003N"  # demo-coordinator's training base (the realm's `org` of that user)


def bearer(profile: Profile, subject: str, role: str, org: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(profile, subject, role, org=org)}"}


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def identity_number() -> str:
    born = date(1975, 1, 1) + timedelta(days=random.randrange(0, 365 * 25))
    body = f"210203{born:%Y%m%d}{random.randrange(0, 1000):03d}"
    return body + identity_check_character(body)


def talent_known_to_training(profile: Profile, name: str = "赵磊") -> str:
    """A talent registered in the registry (employed by a fresh enterprise), once training knows it."""
    employer = register_organisation(profile, "210200")
    registrar = bearer(profile, "coordinator-portal", "coordinator")
    talent = ok(httpx.post(f"{api_url(profile, 'registry')}/v1/talents", headers=registrar, json={
        "name": name, "identity_number": identity_number(), "employer_organisation_id": employer,
        "region_code": "210203", "categories": ["enterprise_ip_management"]}), 201)
    talent_id: str = talent["talent_id"]
    wait_for_training(profile, talent_id)
    return talent_id


def wait_for_training(profile: Profile, talent_id: str) -> None:
    staff = bearer(profile, "coordinator-portal", "coordinator")
    eventually(lambda: httpx.get(f"{api_url(profile, 'training')}/v1/talents/{talent_id}",
                                 headers=staff).status_code == 200, timeout=40, what="the talent in training")


def course_and_session(profile: Profile, base: str, title: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    planner = bearer(profile, f"coordinator-of-{base}", "coordinator", org=base)
    training = api_url(profile, "training")
    course = ok(httpx.post(f"{training}/v1/courses", headers=planner, json={
        "title": title or f"企业知识产权管理实务 {unique_word()}", "audience": "engineers", "credit_hours": "16",
        "categories": ["enterprise_ip_management"]}), 201)
    starts = datetime.now(UTC) + timedelta(days=7)
    session = ok(httpx.post(f"{training}/v1/courses/{course['id']}/sessions", headers=planner, json={
        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(days=2)).isoformat(),
        "venue": "大连理工大学知识产权学院", "capacity": 30}), 201)
    return course, session


def public_event(profile: Profile, capacity: int, title: str | None = None) -> dict[str, Any]:
    starts = datetime.now(UTC) + timedelta(days=10)
    return ok(httpx.post(f"{api_url(profile, 'publicity')}/v1/events", headers=bearer(profile, "officer-ev", "officer"),
                         json={"title": title or f"知识产权进校园 {unique_word()}", "venue": "沈阳市图书馆",
                               "region_code": "210100", "starts_at": starts.isoformat(),
                               "ends_at": (starts + timedelta(hours=2)).isoformat(), "capacity": capacity}), 201)


def open_campaign(profile: Profile, name: str) -> dict[str, Any]:
    publicity, officer = api_url(profile, "publicity"), bearer(profile, "officer-camp", "officer")
    today = date.today()
    campaign = ok(httpx.post(f"{publicity}/v1/campaigns", headers=officer, json={
        "name": name, "theme": "知识产权与创新", "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=6)).isoformat(), "organisers": ["辽宁省知识产权局"]}), 201)
    return ok(httpx.post(f"{publicity}/v1/campaigns/{campaign['id']}/opening", headers={
        **officer, "If-Match": f'"{campaign["version"]}"'}))


def submitted_activity(profile: Profile, campaign_id: str, title: str) -> dict[str, Any]:
    unit = register_organisation(profile, "210200")
    publicity, officer = api_url(profile, "publicity"), bearer(profile, "officer-act", "officer")
    body = {"campaign_id": campaign_id, "held_on": date.today().isoformat(), "title": title,
            "responsible_unit": unit, "theme": "尊重知识产权", "audiences": ["communities"], "format": "offline",
            "venue": "大连星海社区中心", "region_code": "210200", "expected_reach": 300}

    def submitted() -> dict[str, Any] | None:  # publicity knows the unit once it projected the registry's event
        answer = httpx.post(f"{publicity}/v1/activities", json=body, headers=officer)
        return answer.json() if answer.status_code == 201 else None

    found: dict[str, Any] = eventually(submitted, timeout=30, interval=0.5, what="the unit known to publicity")
    return found
