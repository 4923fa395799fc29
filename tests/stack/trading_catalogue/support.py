"""Helpers for the catalogue's stack tests: organisations registered through the registry, valid
patent numbers, listing bodies, and a unique keyword per test so searches only see that test's data."""

from __future__ import annotations

import random
import string
from typing import Any

import httpx
from devstack.layout import Profile
from pymongo import MongoClient
from trading.listings.search_store import PENDING
from trading.patents.identifiers import application_check_character

from tests.support.patents import verified_owner
from tests.support.stack import api_url, auth, eventually, new_credit_code, organisation_body, projected, token

TYPE_DIGIT = {"invention": "1", "utility_model": "2", "design": "3"}


def application_number(kind: str = "invention", year: int = 2021) -> str:
    digits = f"{year}{TYPE_DIGIT[kind]}{random.randrange(10 ** 7):07d}"
    return f"{digits}.{application_check_character(digits)}"


def unique_word() -> str:
    """A Latin token no other test uses, to scope searches to this test's listings."""
    return "zq" + "".join(random.choice(string.ascii_lowercase) for _ in range(10))


def register_organisation(profile: Profile, region: str = "210200") -> str:
    code = new_credit_code(region)
    response = httpx.post(f"{api_url(profile, 'registry')}/v1/organisations", json=organisation_body(code),
                          headers=auth(profile))
    assert response.status_code == 201, response.text
    eventually(projected(profile, code), what=f"organisation {code} in trading's projection")
    return code


def participant(profile: Profile, organisation: str | None, subject: str | None = None) -> dict[str, str]:
    bearer = token(profile, subject or f"user-of-{organisation}", "participant", org=organisation)
    return {"Authorization": f"Bearer {bearer}"}


def listing_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "application_number": application_number(),
        "patent_kind": "invention",
        "title": "锂离子电池隔膜的制备方法",
        "abstract": "一种高孔隙率聚烯烃隔膜 提高电池安全性。",
        "ipc_codes": ["H01M 10/0525"],
        "industry": "new_energy",
        "region_code": "210200",
        "legal_status": "granted",
        "deal_types": ["exclusive_licence", "ordinary_licence"],
        "price_fen": 50_000_000,
    }
    body.update(overrides)
    # The filing date's year must be the number's (its first four digits); the expiry is computed.
    body.setdefault("filing_date", f"{str(body['application_number'])[:4]}-03-01")
    return body


def trading(profile: Profile, path: str) -> str:
    return f"{api_url(profile, 'trading')}{path}"


def create_listing(profile: Profile, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = httpx.post(trading(profile, "/v1/listings"), json=listing_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def publish(profile: Profile, headers: dict[str, str], listing: dict[str, Any]) -> dict[str, Any]:
    """Publish as the owner once the owner's claim on the patent is verified (only a verified owner
    publishes)."""
    verified_owner(profile, listing["owner_organisation_id"], listing["application_number"])
    response = httpx.post(trading(profile, f"/v1/listings/{listing['id']}/publish"),
                          headers={**headers, "If-Match": f'"{listing["version"]}"'})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    indexed(profile)
    return result


def indexed(profile: Profile) -> None:
    """Wait until the catalogue indexer has filed every changed listing (search is eventually
    consistent: trading.listings.indexer): its marker collection is empty."""
    client: MongoClient[dict[str, Any]] = MongoClient(profile.mongo_url, serverSelectionTimeoutMS=3000)
    try:
        markers = client[f"trading_{profile.name}"][PENDING]
        eventually(lambda: markers.count_documents({}) == 0, timeout=30, interval=0.05,
                   what="the catalogue indexer to file every changed listing")
    finally:
        client.close()


def search(profile: Profile, **params: Any) -> dict[str, Any]:
    """A search once every listing change so far is filed (see `indexed`)."""
    indexed(profile)
    response = httpx.get(trading(profile, "/v1/listings"), params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
