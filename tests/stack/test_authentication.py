"""Authentication across every API, read from the OpenAPI snapshots (so new routes are covered as they
appear): every write needs a bearer token, and every secured operation refuses a forged, expired or
foreign-audience token with 401 problem+json before it looks at the request, and so does every secured
write without a token (a secured read may be public with an optional token).

Object-level rules (a participant cannot see another's negotiation, a coordinator cannot change another
training base's sessions) are per domain and tested beside each domain.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from devstack.components import dev_jwt_secret
from devstack.layout import REPO_ROOT, SERVICES, Profile
from devstack.processes import ManagedProcess
from servicekit.auth import mint_token

from tests.support.stack import AUDIENCE, ISSUER, api_url

pytestmark = pytest.mark.stack

READ_METHODS = {"get", "head", "options"}


def _operations() -> list[tuple[str, str, str, bool]]:
    found = []
    for service in SERVICES:
        document = json.loads((REPO_ROOT / "services" / service / "schemas" / "openapi.json").read_text())
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                found.append((service, method, path, bool(operation.get("security"))))
    return found


OPERATIONS = _operations()
SECURED = [(s, m, p) for s, m, p, secured in OPERATIONS if secured]


# Writes the public makes without signing in, each with its reason.
PUBLIC_WRITES = {
    "publicity: POST /v1/events/{event_id}/registrations":
        "the public registers for a Publicity Week event without an account (capacity, waitlist, ticket code)",
    "publicity: POST /v1/public/registrations/{registration_id}/cancellation":
        "a registrant gives up a place through the unguessable link it was sent (the link is the credential)",
}


def test_every_write_needs_a_token() -> None:
    open_writes = [f"{s}: {m.upper()} {p}" for s, m, p, secured in OPERATIONS if m not in READ_METHODS and not secured]
    unexpected = [w for w in open_writes if w not in PUBLIC_WRITES]
    assert not unexpected, f"writes anyone could call without a token: {unexpected}"
    assert SECURED, "no secured operation found: are the OpenAPI snapshots generated?"


def _bad_tokens(profile: Profile) -> dict[str, dict[str, str]]:
    secret = dev_jwt_secret(profile)
    admin: tuple[str, ...] = ("admin",)
    return {
        "missing": {},
        "not a bearer": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "forged": {"Authorization": "Bearer " + mint_token("not-the-key-" + secret, "mallory", admin,
                                                          issuer=ISSUER, audience=AUDIENCE)},
        "expired": {"Authorization": "Bearer " + mint_token(secret, "late", admin, issuer=ISSUER,
                                                           audience=AUDIENCE, ttl_seconds=-60)},
        "other audience": {"Authorization": "Bearer " + mint_token(secret, "elsewhere", admin, issuer=ISSUER,
                                                                  audience="another-platform")},
    }


@pytest.mark.parametrize(("service", "method", "path"), SECURED, ids=[f"{s}:{m.upper()} {p}" for s, m, p in SECURED])
def test_secured_operation_refuses_bad_tokens(services: dict[str, ManagedProcess], test_profile: Profile,
                                              service: str, method: str, path: str) -> None:
    url = api_url(test_profile, service) + re.sub(r"\{[^}]+\}", "x-1", path)
    body: Any = None if method in READ_METHODS else {}
    for name, headers in _bad_tokens(test_profile).items():
        if name in ("missing", "not a bearer") and method in READ_METHODS:
            continue  # some reads are public with an optional token (published listings); a bad token is not
        response = httpx.request(method, url, headers=headers, json=body, timeout=10)
        assert response.status_code == 401, (name, response.status_code, response.text[:300])
        assert response.headers["content-type"].startswith("application/problem+json"), name
        assert response.headers["www-authenticate"].startswith("Bearer"), name
