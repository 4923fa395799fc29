"""Training's completions as aggregate milestones: counted once per enrolment (a redelivery, or the same
completion under a new event id, counts once), one news draft at every N-th completion of the year
(N = 3 in the tests, 100 in production), never one per person.

Run with IPO_TEST_SERVICES=publicity."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from pymongo import MongoClient
from servicekit.events.envelope import CloudEvent
from training.enrolments.events import EnrolmentCompleted

from tests.stack.publicity.helpers import base, officer
from tests.support.kafka import consumed, publish_events
from tests.support.stack import eventually

pytestmark = pytest.mark.stack

EVERY = 3  # PUBLICITY_COMPLETIONS_MILESTONE_EVERY in tests/conftest.py


def completion(enrolment_id: str) -> CloudEvent:
    return CloudEvent.new("/ipo/training", enrolment_id, EnrolmentCompleted(
        enrolment_id=enrolment_id, talent_id="LNIP-2026-000001", course_id="C-1", course_title="专利检索",
        session_id="S-1", credit_hours=Decimal("16"), categories=[], certificate_number=f"LNTC-2026-{enrolment_id}",
        score=90, completed_at=datetime.now(UTC)))


def test_every_nth_completion_is_one_draft(services: dict[str, ManagedProcess], test_profile: Profile,
                                           mongo: MongoClient[dict[str, object]]) -> None:
    p = test_profile
    year = datetime.now(UTC).year
    counters = mongo[f"publicity_{p.name}"]["milestone_counters"]
    warm_up = completion("warm-up-" + uuid.uuid4().hex[:8])
    asyncio.run(publish_events(p, "training.events", [warm_up]))

    def counted() -> int | None:  # the worker is consuming once it counted the warm-up
        doc = counters.find_one({"_id": f"completions-{year}"})
        return int(str(doc["count"])) if doc and warm_up.data["enrolment_id"] in str(doc["applied_events"]) else None

    before = eventually(counted, timeout=60, what="the worker counting completions")

    events = [completion(f"E-{uuid.uuid4().hex[:10]}") for _ in range(EVERY)]
    duplicate = events[0].model_copy(update={"id": str(uuid.uuid4())})  # the same completion, re-published
    asyncio.run(publish_events(p, "training.events", [*events, events[1], duplicate]))
    consumed(p, "publicity-worker", "training.events")

    after = counted()
    assert after == before + EVERY
    milestone = after // EVERY * EVERY
    assert milestone > before
    draft = httpx.get(f"{base(p)}/v1/releases/NEWS-completions-{year}-{milestone}", headers=officer(p, "una"))
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert body["state"] == "draft" and str(milestone) in body["content"]["title"]
    assert str(milestone) in body["content"]["title_en"]
    # Nothing for the next milestone yet, and nobody's name in a draft about numbers.
    assert httpx.get(f"{base(p)}/v1/releases/NEWS-completions-{year}-{milestone + EVERY}",
                     headers=officer(p, "una")).status_code == 404
