"""Helpers for the deals stack tests: organisations registered through the registry, published
listings, negotiations driven to acceptance, talent events published as the registry would."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from devstack.layout import Profile
from registry.talents.events import TalentSnapshot
from servicekit.events.envelope import CloudEvent
from trading.patents.identifiers import application_check_character

from tests.support.kafka import publish_events, read_records
from tests.support.patents import verified_owner
from tests.support.stack import api_url, auth, eventually, new_credit_code, organisation_body, projected, token

Json = dict[str, Any]


def url(profile: Profile, path: str) -> str:
    return f"{api_url(profile, 'trading')}{path}"


def application_number() -> str:
    digits = f"2022{1}{random.randrange(10 ** 7):07d}"
    return f"{digits}.{application_check_character(digits)}"


def register_organisation(profile: Profile, region: str = "210200",
                          name: str = "Dalian Membrane Tech Co., Ltd.") -> str:
    """Registered in the registry over HTTP; returns once trading's projection has it."""
    code = new_credit_code(region)
    response = httpx.post(f"{api_url(profile, 'registry')}/v1/organisations", json=organisation_body(code, name),
                          headers=auth(profile))
    assert response.status_code == 201, response.text
    eventually(projected(profile, code), what=f"organisation {code} in trading's projection")
    return code


def party(profile: Profile, organisation: str | None, subject: str | None = None) -> dict[str, str]:
    bearer = token(profile, subject or f"user-of-{organisation}", "participant", org=organisation)
    return {"Authorization": f"Bearer {bearer}"}


def officer(profile: Profile) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(profile, 'officer-1', 'officer')}"}


def if_match(document: Json) -> dict[str, str]:
    return {"If-Match": f'"{document["version"]}"'}


def published_listing(profile: Profile, owner: str, *, deal_types: tuple[str, ...] = ("exclusive_licence",
                      "sole_licence", "ordinary_licence", "assignment"), number: str | None = None,
                      co_owners: tuple[str, ...] = (), **overrides: Any) -> Json:
    body: Json = {
        "application_number": number or application_number(), "patent_kind": "invention",
        "title": "锂离子电池隔膜的制备方法", "abstract": "一种高孔隙率聚烯烃隔膜。", "ipc_codes": ["H01M 10/0525"],
        "industry": "new_energy", "region_code": "210200", "legal_status": "granted",
        "filing_date": "2022-03-01", "deal_types": list(deal_types),
        "price_fen": None, "co_owner_organisation_ids": list(co_owners), **overrides,
    }
    headers = party(profile, owner)
    created = httpx.post(url(profile, "/v1/listings"), json=body, headers=headers)
    assert created.status_code == 201, created.text
    listing = created.json()
    verified_owner(profile, owner, listing["application_number"])
    published = httpx.post(url(profile, f"/v1/listings/{listing['id']}/publish"),
                           headers={**headers, **if_match(listing)})
    assert published.status_code == 200, published.text
    result: Json = published.json()
    return result


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def terms(deal_type: str = "exclusive_licence", *, fields: tuple[str, ...] = ("H01M",),
          territories: tuple[str, ...] = ("210000",), start: str = "2027-01-01", end: str = "2029-12-31",
          fee: int = 5_000_000, rate: str = "3.5", **extra: Any) -> Json:
    body: Json = {"deal_type": deal_type, "fields_of_use": list(fields), "territories": list(territories),
                  "upfront_fee_fen": fee, "royalty_rate_percent": rate, **extra}
    if deal_type != "assignment":
        body.update(term_start=start, term_end=end)
    return body


def open_negotiation(profile: Profile, buyer: str, listing: Json, deal_terms: Json, *,
                     valid_until: str | None = None, fair_id: str | None = None,
                     headers: dict[str, str] | None = None) -> httpx.Response:
    body: Json = {"listing_id": listing["id"], "terms": deal_terms, "valid_until": valid_until or in_days(7)}
    if fair_id:
        body["fair_id"] = fair_id
    return httpx.post(url(profile, "/v1/negotiations"), json=body, headers={**party(profile, buyer), **(headers or {})})


def accepted_negotiation(profile: Profile, owner: str, buyer: str, listing: Json, deal_terms: Json,
                         fair_id: str | None = None) -> Json:
    opened = open_negotiation(profile, buyer, listing, deal_terms, fair_id=fair_id)
    assert opened.status_code == 201, opened.text
    negotiation = opened.json()
    accepted = httpx.post(url(profile, f"/v1/negotiations/{negotiation['id']}/acceptance"),
                          headers={**party(profile, owner), **if_match(negotiation)})
    assert accepted.status_code == 200, accepted.text
    result: Json = accepted.json()
    return result


def sign(profile: Profile, organisation: str, negotiation: Json, signed_on: str | None = None) -> httpx.Response:
    body = {"signed_on": signed_on} if signed_on else {}
    return httpx.post(url(profile, f"/v1/negotiations/{negotiation['id']}/signature"), json=body,
                      headers={**party(profile, organisation), **if_match(negotiation)})


def licence_from(profile: Profile, owner: str, buyer: str, listing: Json, deal_terms: Json,
                 fair_id: str | None = None) -> httpx.Response:
    """Negotiate, accept and sign in one go; the signing response (201 with the deal, or a problem)."""
    return sign(profile, owner, accepted_negotiation(profile, owner, buyer, listing, deal_terms, fair_id))


async def publish_talent_events(profile: Profile, *payloads: TalentSnapshot) -> None:
    """Publish talent events onto registry.events as the registry would (structured mode, key = talent id)."""
    await publish_events(profile, "registry.events",
                         [CloudEvent.new("/ipo/registry", payload.talent_id, payload) for payload in payloads])


def trading_events(profile: Profile) -> list[Json]:
    """Every event on trading.events so far, as CloudEvents dicts."""
    return [json.loads(r.value) for r in asyncio.run(read_records(profile, "trading.events"))]


def plan_fair(profile: Profile, name: str = "China International Patent Technology and Products Fair") -> Json:
    today = date.today()
    body = {"name": name, "venue": "Dalian World Expo Center", "region_code": "210200",
            "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=3)).isoformat()}
    planned = httpx.post(url(profile, "/v1/fairs"), json=body, headers=officer(profile))
    assert planned.status_code == 201, planned.text
    opened = httpx.post(url(profile, f"/v1/fairs/{planned.json()['id']}/opening"),
                        headers={**officer(profile), **if_match(planned.json())})
    assert opened.status_code == 200, opened.text
    result: Json = opened.json()
    return result


def exhibit(profile: Profile, fair: Json, organisation: str, *listings: Json) -> Json:
    joined = httpx.post(url(profile, f"/v1/fairs/{fair['id']}/exhibitors"), json={"organisation_id": organisation},
                        headers=party(profile, organisation))
    assert joined.status_code == 200, joined.text
    result: Json = joined.json()
    for listing in listings:
        shown = httpx.post(url(profile, f"/v1/fairs/{fair['id']}/exhibits"), json={"listing_id": listing["id"]},
                           headers=party(profile, organisation))
        assert shown.status_code == 200, shown.text
        result = shown.json()
    return result
