"""Fixtures of the portal and identity tests: the portal as a real process over the session's APIs, and
Keycloak (started only for the tests that ask for it: its start costs a CPU-minute on this machine)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from devstack.components import development_realm, keycloak_process, portal_process, portal_session_key
from devstack.layout import Profile
from devstack.processes import ManagedProcess
from portal.sessions import COOKIE, Session, SessionCodec

from tests.support.stack import token

# A client of the development realm whose tokens are for another audience (tests only).
OTHER_AUDIENCE_CLIENT = "ipo-test-other-audience"
OTHER_REALM = "elsewhere"
DEMO_PARTICIPANT = "demo-participant-a"


def _other_audience_client() -> dict[str, Any]:
    return {
        "clientId": OTHER_AUDIENCE_CLIENT, "enabled": True, "protocol": "openid-connect", "publicClient": True,
        "standardFlowEnabled": False, "directAccessGrantsEnabled": True,
        "protocolMappers": [{"name": "another audience", "protocol": "openid-connect",
                             "protocolMapper": "oidc-audience-mapper",
                             "config": {"included.custom.audience": "another-platform",
                                        "access.token.claim": "true"}}],
    }


def _other_realm() -> dict[str, Any]:
    """The same realm under another name: same users, same clients, its own keys and issuer."""
    realm = copy.deepcopy(development_realm())
    realm["realm"] = OTHER_REALM
    return realm


@pytest.fixture(scope="session")
def keycloak(infra: object, test_profile: Profile) -> Iterator[ManagedProcess]:
    proc = keycloak_process(test_profile, extra_clients=[_other_audience_client()], extra_realms=[_other_realm()])
    proc.stop()  # a leftover of an interrupted run of this profile, by its pid file
    proc.start()
    try:
        proc.wait_healthy(300)
    except BaseException:
        proc.stop()
        raise
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def portal(services: dict[str, ManagedProcess], test_profile: Profile) -> Iterator[str]:
    proc = portal_process(test_profile)
    proc.stop()
    proc.start()
    try:
        proc.wait_healthy(60)
    except BaseException:
        proc.stop()
        raise
    yield test_profile.portal_url
    proc.stop()


def browser(portal: str, language: str = "zh") -> httpx.Client:
    """A client that behaves like a browser towards the portal: keeps cookies, sends a language."""
    client = httpx.Client(base_url=portal, headers={"Accept-Language": language}, timeout=15)

    def loopback_is_secure(response: httpx.Response) -> None:
        # Browsers treat http://127.0.0.1 as a secure context and send it `Secure` cookies (Keycloak's
        # are); the standard library's cookie jar would not, so the flag is dropped as they arrive.
        for cookie in client.cookies.jar:
            cookie.secure = False

    client.event_hooks["response"].append(loopback_is_secure)
    return client


def signed_in(client: httpx.Client, profile: Profile, subject: str, role: str, org: str | None) -> None:
    """Put a signed-in session (a development token) into the client's cookies, as a sign-in would."""
    import time

    codec = SessionCodec(portal_session_key(profile).encode(), 3600)
    session = Session(access_token=token(profile, subject, role, org=org), expires_at=time.time() + 3600,
                      user=subject, roles=[role], org=org)
    client.cookies.set(COOKIE, codec.encode(session))


def csrf_of(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]
