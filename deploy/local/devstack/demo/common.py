"""What every area of the demo dataset shares: the HTTP client with its development tokens, the
idempotent POST, waiting for events to arrive, and the tally of what a run created."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from servicekit.auth import mint_token

from devstack.components import dev_jwt_secret
from devstack.layout import Profile

ISSUER = "https://auth.ipo.local"
AUDIENCE = "ipo-platform"
# The loader's own subjects. Two officers, because a press release is published by an officer other than
# the one who submitted it (the two-person rule).
OFFICER = "demo-loader-officer"
SECOND_OFFICER = "demo-loader-officer-2"
COORDINATOR = "demo-loader-coordinator"


class DemoError(SystemExit):
    """A request the dataset needs was refused: `make run` stops with the API's answer."""


@dataclass
class Loader:
    """One run of the loader: the profile's API URLs, one HTTP client, and what this run created."""

    profile: Profile
    client: httpx.Client
    created: Counter[str] = field(default_factory=Counter)

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.profile.ports.api(service)}{path}"

    def headers(self, subject: str, role: str, org: str | None = None, *, key: str | None = None,
                version: int | None = None) -> dict[str, str]:
        """A development token (HS256, this profile's secret) for `subject`, plus the optional
        Idempotency-Key and If-Match."""
        token = mint_token(dev_jwt_secret(self.profile), subject, [role], issuer=ISSUER, audience=AUDIENCE,
                           organisation_id=org)
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        if version is not None:
            headers["If-Match"] = f'"{version}"'
        return headers

    def create(self, kind: str, service: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        """POST a creation that carries an Idempotency-Key (in `headers`): 201 counts as created, 200 is
        the API answering a repeated key with what the first run created. Returns the JSON answer."""
        response = self.client.post(self.url(service, path), headers=headers, json=body)
        if response.status_code not in (200, 201):
            raise DemoError(f"demo data: creating {kind} ({path}): {response.status_code} {response.text[:300]}")
        self.created[kind] += response.status_code == 201
        return response.json()

    def act(self, what: str, service: str, path: str, headers: dict[str, str], body: dict[str, Any] | None = None,
            ok: tuple[int, ...] = (200,)) -> httpx.Response:
        """POST an action (a state change); refused with anything but `ok`, the load stops."""
        response = self.client.post(self.url(service, path), headers=headers, json=body)
        if response.status_code not in ok:
            raise DemoError(f"demo data: {what}: {response.status_code} {response.text[:300]}")
        return response

    def get(self, service: str, path: str, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
        return self.client.get(self.url(service, path), headers=headers, params=params)


def wait(probe: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Wait for something events bring about (a projection, the matchmaker's suggestions)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise DemoError(f"demo data: timed out waiting for {what}")
