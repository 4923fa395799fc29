"""Every process's /metrics passes `promtool check metrics` and carries the kit's series."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess

from tests.support.stack import api_url, auth, new_credit_code, organisation_body

pytestmark = pytest.mark.stack


def promtool_findings(text: str) -> str:
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package, which `make test` installs"
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    return (result.stdout + result.stderr).strip() if result.returncode else ""


def test_metrics_are_conventional_on_every_process(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    code = new_credit_code()
    httpx.post(f"{api_url(test_profile, 'registry')}/v1/organisations", json=organisation_body(code),
               headers=auth(test_profile))
    httpx.get(f"{api_url(test_profile, 'registry')}/v1/organisations/{code}")
    endpoints = {
        "registry api": f"{api_url(test_profile, 'registry')}/metrics",
        "trading api": f"{api_url(test_profile, 'trading')}/metrics",
        "trading worker": f"http://127.0.0.1:{test_profile.ports.worker('trading')}/metrics",
    }
    for name, url in endpoints.items():
        text = httpx.get(url).text
        assert promtool_findings(text) == "", f"{name}: promtool check metrics complained"
    registry = httpx.get(endpoints["registry api"]).text
    # Requests are labelled by route template, never by the raw path.
    assert 'route="/v1/organisations/{organisation_id}"' in registry
    assert code not in registry
    assert "registry_outbox_backlog_events" in registry
    assert "registry_events_published_total" in registry
    worker = httpx.get(endpoints["trading worker"]).text
    assert "trading_consumer_lag_messages" in worker
    assert "trading_consumer_last_processed_timestamp_seconds" in worker
