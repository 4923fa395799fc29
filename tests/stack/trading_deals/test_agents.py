"""The agent rule: an agent named on a deal must be an active patent agent or IP service talent in
trading's projection of the registry's talents. The registry's talent events are published here by
the test itself, through the kit's producer and envelope, exactly as the registry would publish them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from pymongo import MongoClient
from registry.talents.domain import TalentCategory, TalentLevel, TalentStatus
from registry.talents.events import TalentCertified, TalentRegistered, TalentStatusChanged, TalentUpdated

from tests.stack.trading_deals.conftest import Cast
from tests.stack.trading_deals.support import (
    accepted_negotiation,
    if_match,
    open_negotiation,
    party,
    publish_talent_events,
    published_listing,
    sign,
    terms,
    url,
)
from tests.support.stack import eventually

pytestmark = pytest.mark.stack

Mongo = MongoClient[dict[str, Any]]


def snapshot(talent_id: str, employer: str, categories: list[TalentCategory], status: TalentStatus,
             version: int) -> dict[str, Any]:
    return {"talent_id": talent_id, "registration_number": f"LN-{talent_id[-8:]}", "name": "王芳",
            "employer_organisation_id": employer, "region_code": "210200", "categories": categories,
            "level": TalentLevel.SENIOR, "status": status, "version": version, "occurred_at": datetime.now(UTC)}


def projected_talent(profile: Profile, talent_id: str, version: int) -> dict[str, Any] | None:
    response = httpx.get(url(profile, f"/v1/talents/{talent_id}"))
    if response.status_code != 200 or response.json()["version"] != version:
        return None
    found: dict[str, Any] = response.json()
    return found


def test_only_an_active_patent_agent_or_ip_service_talent_may_be_named(cast: Cast, test_profile: Profile,
                                                                       mongo: Mongo) -> None:
    agent_id, analyst_id = f"tal-{uuid.uuid4().hex[:12]}", f"tal-{uuid.uuid4().hex[:12]}"
    asyncio.run(publish_talent_events(
        test_profile,
        TalentRegistered(**snapshot(agent_id, cast.rival, [TalentCategory.ENFORCEMENT], TalentStatus.ACTIVE, 1)),
        TalentUpdated(**snapshot(agent_id, cast.rival, [TalentCategory.ENFORCEMENT, TalentCategory.PATENT_AGENCY],
                                 TalentStatus.ACTIVE, 2)),
        TalentCertified(**snapshot(agent_id, cast.rival, [TalentCategory.ENFORCEMENT, TalentCategory.PATENT_AGENCY],
                                   TalentStatus.ACTIVE, 3), certified_level=TalentLevel.SENIOR,
                        certified_category=TalentCategory.PATENT_AGENCY, certificate_number="LN-CERT-0001"),
        TalentRegistered(**snapshot(analyst_id, cast.rival, [TalentCategory.INFORMATION_RETRIEVAL_ANALYSIS],
                                    TalentStatus.ACTIVE, 1)),
    ))
    agent = eventually(lambda: projected_talent(test_profile, agent_id, 3), what="the agent in trading's projection")
    assert agent["may_act_as_agent"] is True
    assert eventually(lambda: projected_talent(test_profile, analyst_id, 1),
                      what="the analyst")["may_act_as_agent"] is False

    listing = published_listing(test_profile, cast.owner)
    # Not an agent category: refused, pointing at the talent.
    analyst = open_negotiation(test_profile, cast.buyer, listing, terms(agent_talent_id=analyst_id))
    assert analyst.status_code == 422
    assert analyst.json()["errors"] == [{"pointer": "#/terms/agent_talent_id",
                                         "detail": f"talent {analyst_id} is neither a patent agent nor an IP "
                                                   "service talent"}]
    unknown = open_negotiation(test_profile, cast.buyer, listing, terms(agent_talent_id="tal-never-announced"))
    assert unknown.status_code == 422 and "has not announced" in unknown.json()["errors"][0]["detail"]
    wrong_employer = open_negotiation(test_profile, cast.buyer, listing,
                                      terms(agent_talent_id=agent_id, agent_organisation_id=cast.buyer))
    assert wrong_employer.status_code == 422
    assert wrong_employer.json()["errors"][0]["pointer"] == "#/terms/agent_organisation_id"

    # An active patent agent: accepted, and its employer filled in as the agent organisation.
    negotiation = accepted_negotiation(test_profile, cast.owner, cast.buyer, listing, terms(agent_talent_id=agent_id))
    assert negotiation["current_offer"]["terms"]["agent_organisation_id"] == cast.rival

    # The registry suspends the agent: the suspension reaches trading, and a new deal naming it is refused...
    asyncio.run(publish_talent_events(test_profile, TalentStatusChanged(
        **snapshot(agent_id, cast.rival, [TalentCategory.PATENT_AGENCY], TalentStatus.SUSPENDED, 4),
        reason="licence to practise suspended")))
    eventually(lambda: projected_talent(test_profile, agent_id, 4), what="the suspension in trading")
    suspended = open_negotiation(test_profile, cast.buyer, listing, terms(agent_talent_id=agent_id))
    assert suspended.status_code == 422 and "is suspended, not active" in suspended.json()["errors"][0]["detail"]
    # ...and so is signing the deal already agreed with it.
    refused = sign(test_profile, cast.owner, negotiation)
    assert refused.status_code == 409 and refused.json()["type"].endswith("/agent-not-eligible")
    assert "suspended" in refused.json()["detail"]

    # A late, older snapshot (redelivered "active" v3) changes nothing: the projection keeps v4.
    asyncio.run(publish_talent_events(test_profile, TalentUpdated(
        **snapshot(agent_id, cast.rival, [TalentCategory.PATENT_AGENCY], TalentStatus.ACTIVE, 3))))
    reactivated = snapshot(agent_id, cast.rival, [TalentCategory.IP_SERVICES], TalentStatus.ACTIVE, 5)
    asyncio.run(publish_talent_events(test_profile, TalentStatusChanged(**reactivated, reason="reinstated")))
    assert eventually(lambda: projected_talent(test_profile, agent_id, 5), what="reinstatement")["status"] == "active"
    doc = mongo[f"trading_{test_profile.name}"]["talents"].find_one({"_id": agent_id})
    assert doc is not None and len(doc["applied_events"]) == 5  # v1-v5 applied once each, the stale v3 not
    fresh = httpx.get(url(test_profile, f"/v1/negotiations/{negotiation['id']}"),
                      headers=party(test_profile, cast.owner)).json()
    signed = sign(test_profile, cast.owner, fresh)
    assert signed.status_code == 201, signed.text
    licence = httpx.get(url(test_profile, signed.json()["href"]), headers=party(test_profile, cast.buyer)).json()
    assert licence["agent_talent_id"] == agent_id and licence["agent_organisation_id"] == cast.rival
    assert if_match(licence) == {"If-Match": '"1"'}
