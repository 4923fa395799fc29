"""Helpers for training's stack tests: talent events into registry.events (as the registry publishes
them, by the common contract), tokens per training base, courses and sessions."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from devstack.layout import Profile
from servicekit.events.envelope import EVENT_TYPE_PREFIX, CloudEvent

from tests.support.kafka import publish_events
from tests.support.stack import api_url, eventually, new_credit_code, token

REGISTRY_SOURCE = "/ipo/registry"


def training(profile: Profile) -> str:
    return api_url(profile, "training")


def bearer(profile: Profile, subject: str, *roles: str, org: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(profile, subject, *roles, org=org)}"}


def coordinator_of(profile: Profile, base: str) -> dict[str, str]:
    return bearer(profile, f"coordinator-{base[-6:]}", "coordinator", org=base)


def officer(profile: Profile) -> dict[str, str]:
    return bearer(profile, "officer-1", "officer")


def talent_event(talent_id: str, status: str, version: int, happening: str = "registered",
                 reason: str | None = None, **overrides: Any) -> CloudEvent:
    """A registry talent snapshot event exactly as the common contract specifies it."""
    data: dict[str, Any] = {
        "talent_id": talent_id, "registration_number": f"LN-T-{talent_id[-8:]}", "name": f"Talent {talent_id[-4:]}",
        "employer_organisation_id": new_credit_code(), "region_code": "210200",
        "categories": ["enterprise_ip_management"], "level": None, "status": status, "version": version,
        "occurred_at": datetime.now(UTC).isoformat(), **overrides,
    }
    if happening == "status_changed":
        data["reason"] = reason or "decided by the registry"
    return CloudEvent(id=str(uuid.uuid4()), source=REGISTRY_SOURCE,
                      type=f"{EVENT_TYPE_PREFIX}.registry.talent.{happening}.v1", subject=talent_id,
                      time=datetime.now(UTC), correlationid=str(uuid.uuid4()), data=data)


def projected_status(profile: Profile, talent_id: str, status: str, version: int | None = None) -> dict[str, Any]:
    """Wait until training's projection holds the talent with this status (and version)."""
    headers = officer(profile)

    def probe() -> dict[str, Any] | None:
        response = httpx.get(f"{training(profile)}/v1/talents/{talent_id}", headers=headers)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        ok = body["status"] == status and (version is None or body["version"] == version)
        return body if ok else None

    return eventually(probe, what=f"talent {talent_id} {status} in training's projection")


def send(profile: Profile, *events: CloudEvent, topic: str = "registry.events") -> None:
    asyncio.run(publish_events(profile, topic, events))


def active_talents(profile: Profile, count: int) -> list[str]:
    """Register `count` active talents through the registry's events and wait for the projection."""
    ids = [f"tal-{uuid.uuid4().hex[:12]}" for _ in range(count)]
    send(profile, *(talent_event(t, "active", 1) for t in ids))
    for talent_id in ids:
        projected_status(profile, talent_id, "active")
    return ids


def new_base() -> str:
    return new_credit_code(random.choice(["210100", "210200", "210300"]))


def create_course(profile: Profile, base: str, **fields: Any) -> dict[str, Any]:
    body = {"title": "Patent analysis for enterprise engineers", "audience": "engineers", "credit_hours": "16.5",
            "modules": [{"title": "Search strategy", "hours": "8"}, {"title": "Claim charts", "hours": "8.5"}],
            "categories": ["enterprise_ip_management", "information_retrieval_analysis"], **fields}
    response = httpx.post(f"{training(profile)}/v1/courses", json=body, headers=coordinator_of(profile, base))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def create_session(profile: Profile, base: str, course_id: str, capacity: int = 20,
                   starts_in: timedelta = timedelta(days=3), hours: int = 8) -> dict[str, Any]:
    starts = datetime.now(UTC) + starts_in
    body = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=hours)).isoformat(),
            "venue": "Dalian University of Technology, IP Academy, Room 301", "capacity": capacity}
    response = httpx.post(f"{training(profile)}/v1/courses/{course_id}/sessions", json=body,
                          headers=coordinator_of(profile, base))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def as_talent(profile: Profile, talent_id: str) -> dict[str, str]:
    return bearer(profile, talent_id, "participant")


def enrol(profile: Profile, session_id: str, talent_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = httpx.post(f"{training(profile)}/v1/sessions/{session_id}/enrolments", json={"talent_id": talent_id},
                          headers=headers or as_talent(profile, talent_id))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def command(profile: Profile, enrolment_id: str, action: str, headers: dict[str, str],
            body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{training(profile)}/v1/enrolments/{enrolment_id}/{action}", json=body, headers=headers)


def ok(response: httpx.Response, state: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["state"] == state, body
    return body


def enrolment(profile: Profile, enrolment_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = httpx.get(f"{training(profile)}/v1/enrolments/{enrolment_id}", headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


