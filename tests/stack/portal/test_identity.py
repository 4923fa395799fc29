"""Real sign-in: Keycloak started from the repo's realm, its RS256 tokens verified by the APIs through its
JWKS (beside the development tokens), foreign tokens refused, and a participant signing in to the portal
through Keycloak's own login page (code flow with PKCE) and out again (ending the Keycloak session)."""

from __future__ import annotations

import base64
import html
import json
import re
import subprocess
import sys
import urllib.parse

import httpx
import pytest
from devstack.components import keycloak_token, machine_client_secret
from devstack.layout import REPO_ROOT, Profile
from devstack.processes import ManagedProcess

from tests.stack.portal.conftest import OTHER_AUDIENCE_CLIENT, OTHER_REALM, browser, csrf_of
from tests.support.stack import api_url

pytestmark = pytest.mark.stack

DEMO = "demo-participant-a"


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    result: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return result


def _mine(profile: Profile, token: str) -> httpx.Response:
    return httpx.get(f"{api_url(profile, 'trading')}/v1/listings/mine", headers={"Authorization": f"Bearer {token}"},
                     timeout=15)


def test_a_demo_users_keycloak_token_is_accepted_with_its_roles_and_organisation(
        keycloak: ManagedProcess, services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    token = keycloak_token(test_profile, DEMO)
    claims = _claims(token)
    assert claims["iss"] == test_profile.keycloak_issuer
    assert claims["org"] == "91210100MA0DE0001E"
    assert "ipo-platform" in claims["aud"]  # type: ignore[operator]
    assert _mine(test_profile, token).status_code == 200
    # Roles come from realm_access: a participant may not plan a fair, an officer may.
    fair = {"name": "Roles fair", "venue": "Dalian", "region_code": "210200", "starts_on": "2027-06-01",
            "ends_on": "2027-06-02"}
    url = f"{api_url(test_profile, 'trading')}/v1/fairs"
    refused = httpx.post(url, json=fair, headers={"Authorization": f"Bearer {token}"}, timeout=15)
    assert refused.status_code == 403, refused.text
    officer = keycloak_token(test_profile, "demo-officer")
    assert httpx.post(url, json=fair, headers={"Authorization": f"Bearer {officer}"}, timeout=15).status_code == 201


def test_machine_callers_get_tokens_by_client_credentials(keycloak: ManagedProcess,
                                                           services: dict[str, ManagedProcess],
                                                           test_profile: Profile) -> None:
    response = httpx.post(f"{test_profile.keycloak_issuer}/protocol/openid-connect/token", data={
        "grant_type": "client_credentials", "client_id": "ipo-machine",
        "client_secret": machine_client_secret(test_profile)}, timeout=15)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert _claims(token)["realm_access"] == {"roles": ["operator"]}
    # Verified (not 401); an operator is not a participant (403).
    assert _mine(test_profile, token).status_code == 403


def test_tokens_of_another_realm_or_audience_or_with_a_tampered_signature_get_401(
        keycloak: ManagedProcess, services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    other_realm = keycloak_token(test_profile, DEMO, realm=OTHER_REALM)
    assert str(_claims(other_realm)["iss"]).endswith(f"/realms/{OTHER_REALM}")
    other_audience = keycloak_token(test_profile, DEMO, client_id=OTHER_AUDIENCE_CLIENT)
    assert "ipo-platform" not in str(_claims(other_audience)["aud"])
    good = keycloak_token(test_profile, DEMO)
    header, payload, signature = good.split(".")
    flipped = ("A" if signature[10] != "A" else "B")
    tampered_signature = ".".join([header, payload, signature[:10] + flipped + signature[11:]])
    raised = dict(_claims(good), realm_access={"roles": ["admin"]})
    tampered_claims = ".".join([header, base64.urlsafe_b64encode(json.dumps(raised).encode()).decode().rstrip("="),
                                signature])
    for name, token in [("another realm", other_realm), ("another audience", other_audience),
                        ("tampered signature", tampered_signature), ("tampered claims", tampered_claims)]:
        response = _mine(test_profile, token)
        assert response.status_code == 401, (name, response.status_code, response.text[:300])
        assert response.headers["content-type"].startswith("application/problem+json")
    assert _mine(test_profile, good).status_code == 200


def test_the_token_command_prints_a_real_token(keycloak: ManagedProcess, test_profile: Profile) -> None:
    printed = subprocess.run([sys.executable, "-m", "devstack.cli", "token", "demo-coordinator", "--profile",
                              test_profile.name], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
                             check=True).stdout.strip()
    claims = _claims(printed)
    assert claims["preferred_username"] == "demo-coordinator"
    assert "coordinator" in claims["realm_access"]["roles"]  # type: ignore[index]


def _keycloak_login(client: httpx.Client, login_page: httpx.Response, username: str, password: str) -> httpx.Response:
    """Fill in Keycloak's own login form, as a person would."""
    assert login_page.status_code == 200, login_page.text[:300]
    action = re.search(r'<form[^>]+id="kc-form-login"[^>]+action="([^"]+)"', login_page.text)
    assert action is not None, "no Keycloak login form"
    return client.post(html.unescape(action.group(1)), data={"username": username, "password": password,
                                                             "credentialId": ""})


def test_participant_signs_in_through_keycloak_and_out(keycloak: ManagedProcess, portal: str,
                                                       test_profile: Profile) -> None:
    with browser(portal) as client:
        to_keycloak = client.get("/auth/login", params={"next": "/my/listings"})
        assert to_keycloak.status_code == 303
        authorize = urllib.parse.urlsplit(to_keycloak.headers["location"])
        query = urllib.parse.parse_qs(authorize.query)
        assert query["code_challenge_method"] == ["S256"] and query["client_id"] == ["ipo-portal"]
        assert authorize.geturl().startswith(test_profile.keycloak_issuer)
        login_page = client.get(to_keycloak.headers["location"])
        wrong = _keycloak_login(client, login_page, DEMO, "not-the-password")
        assert wrong.status_code == 200 and "kc-form-login" in wrong.text  # asked again
        back = _keycloak_login(client, wrong, DEMO, DEMO)
        assert back.status_code == 302, back.text[:300]
        assert back.headers["location"].startswith(f"{portal}/auth/callback?")
        signed = client.get(back.headers["location"])
        assert signed.status_code == 303 and signed.headers["location"] == "/my/listings"
        mine = client.get("/my/listings")
        assert mine.status_code == 200, mine.text[:500]
        assert "我的专利挂牌" in mine.text and "退出登录" in mine.text
        # Sign out: the portal's session and Keycloak's end.
        out = client.post("/auth/logout", data={"csrf_token": csrf_of(mine.text)})
        assert out.status_code == 303
        assert client.get("/my/listings").status_code == 303
        again = client.get(client.get("/auth/login").headers["location"])
        assert again.status_code == 200 and "kc-form-login" in again.text  # Keycloak asks for the password again
