"""Ownership for the stack tests: only a patent's verified owner publishes listings and signs deals
(issue 11), so tests that publish or sign first claim the patent as the owner organisation and verify
the claim as an IPO officer, through the API like any user."""

from __future__ import annotations

from typing import Any

import httpx
from devstack.layout import Profile

from tests.support.stack import api_url, token

EVIDENCE = {"kind": "certificate", "reference": "第1234567号", "dated": "2024-01-15"}


def _headers(profile: Profile, *roles: str, org: str | None = None, subject: str = "patent-tests") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(profile, subject, *roles, org=org)}"}


def officer_headers(profile: Profile) -> dict[str, str]:
    return _headers(profile, "officer", subject="officer-patents")


def claim(profile: Profile, organisation: str, number: str, **overrides: Any) -> httpx.Response:
    body = {"owners": ["大连膜技术有限公司"], "evidence": EVIDENCE, **overrides}
    return httpx.post(f"{api_url(profile, 'trading')}/v1/patents/{number}/claims", json=body,
                      headers=_headers(profile, "participant", org=organisation, subject=f"user-of-{organisation}"))


def verify(profile: Profile, organisation: str, number: str) -> httpx.Response:
    return httpx.post(f"{api_url(profile, 'trading')}/v1/patents/{number}/claims/{organisation}/verification",
                      json={"reason": "matches the register extract"}, headers=officer_headers(profile))


def verified_owner(profile: Profile, organisation: str, number: str) -> dict[str, Any]:
    """Claim `number` for `organisation` and verify the claim as an officer (a no-op when it already
    is the verified owner); returns the patent."""
    claimed = claim(profile, organisation, number)
    if claimed.status_code == 409 and claimed.json()["type"].endswith("/already-owner"):
        patent = httpx.get(f"{api_url(profile, 'trading')}/v1/patents/{number}", headers=officer_headers(profile))
        assert patent.status_code == 200, patent.text
        result: dict[str, Any] = patent.json()
        return result
    assert claimed.status_code in (200, 201), claimed.text
    verified = verify(profile, organisation, number)
    assert verified.status_code == 200, verified.text
    body: dict[str, Any] = verified.json()
    assert body["owner_organisation_id"] == organisation
    return body
