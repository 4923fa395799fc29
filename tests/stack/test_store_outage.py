"""While the store is down: /readyz says so and writes fail fast with 503; afterwards all recovers
without restarting the service. Uses a FerretDB of its own so other tests are not disturbed."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess

from tests.support.stack import (
    auth,
    eventually,
    new_credit_code,
    organisation_body,
    own_ferretdb,
    projected,
    start_service,
)

pytestmark = pytest.mark.stack


def test_store_outage_gives_clear_errors_and_recovers(services: dict[str, ManagedProcess], test_profile: Profile,
                                                      tmp_path: Any) -> None:
    store_port = test_profile.ports.ferretdb + 20
    store = own_ferretdb(test_profile, "ferretdb-outage", store_port, tmp_path / "ferretdb")
    api_port = str(test_profile.ports.api("registry") + 60)
    api = start_service(test_profile, "registry", "api", name="registry-api-outage", http_port=api_port,
                        mongo_url=f"mongodb://127.0.0.1:{store_port}/")
    base = f"http://127.0.0.1:{api_port}"
    try:
        assert httpx.get(f"{base}/readyz").status_code == 200
        store.stop()

        started = time.monotonic()
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"]["mongodb"].startswith("unreachable")
        assert ready.json()["checks"]["kafka"] == "ok"

        code = new_credit_code()
        write = httpx.post(f"{base}/v1/organisations", json=organisation_body(code), headers=auth(test_profile),
                           timeout=10)
        elapsed = time.monotonic() - started
        assert write.status_code == 503, write.text
        assert write.headers["content-type"] == "application/problem+json"
        assert write.headers["Retry-After"] == "2"
        assert "nothing was changed" in write.json()["detail"]
        assert elapsed < 8, f"readiness and a write took {elapsed:.1f}s while the store was down"
        assert httpx.get(f"{base}/healthz").status_code == 200  # alive, just not ready

        store.start()
        store.wait_healthy(30)
        eventually(lambda: httpx.get(f"{base}/readyz").status_code == 200, timeout=30, what="readiness back")
        again = httpx.post(f"{base}/v1/organisations", json=organisation_body(code), headers=auth(test_profile))
        assert again.status_code == 201, again.text
        eventually(projected(test_profile, code), what="the write after recovery reaching trading")
    finally:
        api.stop()
        store.stop()
