"""Helpers for the registry's stack tests: organisations, talents, identity numbers, training events."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import httpx
from devstack.layout import Profile
from registry.talents.identity import identity_check_character
from servicekit.events.envelope import EVENT_TYPE_PREFIX, CloudEvent, EventPayload

from tests.support.kafka import events_on, publish_events
from tests.support.stack import api_url, auth, eventually, new_credit_code, organisation_body


class EnrolmentCompletedV1(EventPayload):
    """Training's event, as the common contract defines it (the registry's tests publish it)."""

    event_type: ClassVar[str] = f"{EVENT_TYPE_PREFIX}.training.enrolment.completed.v1"

    enrolment_id: str
    talent_id: str
    course_id: str
    course_title: str
    session_id: str
    credit_hours: Decimal
    categories: list[str]
    certificate_number: str
    score: int
    completed_at: datetime


def new_identity_number(region: str = "210102") -> str:
    born = date(1970, 1, 1) + timedelta(days=random.randrange(0, 365 * 30))
    body = f"{region}{born:%Y%m%d}{random.randrange(0, 1000):03d}"
    return body + identity_check_character(body)


def registry(profile: Profile) -> str:
    return api_url(profile, "registry")


def coordinator(profile: Profile) -> dict[str, str]:
    return auth(profile, "coordinator-4", "coordinator")


def officer(profile: Profile) -> dict[str, str]:
    return auth(profile, "officer-4", "officer")


def register_organisation(profile: Profile, kind: str = "enterprise", region: str = "210200") -> str:
    code = new_credit_code(region)
    response = httpx.post(f"{registry(profile)}/v1/organisations", json={**organisation_body(code), "kind": kind},
                          headers=coordinator(profile))
    assert response.status_code == 201, response.text
    return code


def talent_body(employer: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Wang Fang", "identity_number": new_identity_number(), "employer_organisation_id": employer,
        "region_code": "210202", "categories": ["ip_services", "enterprise_ip_management"],
        "qualifications": [{"title": "Patent attorney qualification", "issuer": "CNIPA", "year": 2019}],
        "contact": {"email": "wang.fang@example.cn", "phone": "+86 411 8888 0000"}, **overrides,
    }


def register_talent(profile: Profile, employer: str, **overrides: Any) -> dict[str, Any]:
    response = httpx.post(f"{registry(profile)}/v1/talents", json=talent_body(employer, **overrides),
                          headers=coordinator(profile))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def completion(talent_id: str, hours: str, categories: list[str], course_id: str | None = None) -> CloudEvent:
    enrolment = f"enr-{uuid.uuid4()}"
    payload = EnrolmentCompletedV1(
        enrolment_id=enrolment, talent_id=talent_id, course_id=course_id or f"course-{uuid.uuid4().hex[:8]}",
        course_title="Patent portfolio management", session_id=f"ses-{uuid.uuid4().hex[:8]}",
        credit_hours=Decimal(hours), categories=categories, certificate_number=f"TC-{uuid.uuid4().hex[:12].upper()}",
        score=88, completed_at=datetime.now(UTC))
    return CloudEvent.new("/ipo/training", enrolment, payload)


def renamed(event: CloudEvent) -> CloudEvent:
    """The same completion re-published under a new event id (as a producer bug could)."""
    return event.model_copy(update={"id": str(uuid.uuid4())})


def publish_training(profile: Profile, *events: CloudEvent) -> None:
    asyncio.run(publish_events(profile, "training.events", events))


def registry_events(profile: Profile, talent_id: str) -> list[dict[str, Any]]:
    """The talent's events on registry.events so far, oldest version first."""
    found = [e.model_dump(mode="json") for e in events_on(profile, "registry.events", key=talent_id)]
    return sorted(found, key=lambda e: e["data"].get("version", 0))


def wait_for_events(profile: Profile, talent_id: str, at_least: int) -> list[dict[str, Any]]:
    """The talent's events on registry.events, once there are at least `at_least` of them."""

    def probe() -> list[dict[str, Any]] | None:
        found = registry_events(profile, talent_id)
        return found if len(found) >= at_least else None

    events: list[dict[str, Any]] = eventually(probe, timeout=30, what=f"{at_least} events of {talent_id}")
    return events
