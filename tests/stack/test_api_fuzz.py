"""Property-based fuzzing of every API from its OpenAPI snapshot (schemathesis), against the real stack.

Whatever a client sends, an API must not fail with a 5xx, and every error must be problem+json. The
requests carry an admin token, so the generated cases get past authentication into the validation and
domain rules. Each service is fuzzed through an API process of its own, on its own database and with
its outbox relay off, so the junk it creates never reaches Kafka or the other tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
import schemathesis
from devstack.layout import REPO_ROOT, SERVICES, Profile
from devstack.processes import ManagedProcess
from devstack.stack import Stack
from hypothesis import HealthCheck, settings

from tests.support.stack import start_service, token

pytestmark = pytest.mark.stack

EXAMPLES_PER_OPERATION = 12
# Generated bodies are small; a larger limit only slows the run down.
FUZZ_PORT_OFFSET = 40


@pytest.fixture(scope="module")
def fuzzed_apis(infra: Stack, test_profile: Profile) -> Iterator[dict[str, str]]:
    procs: list[ManagedProcess] = []
    urls: dict[str, str] = {}
    try:
        for service in SERVICES:
            port = test_profile.ports.api(service) + FUZZ_PORT_OFFSET
            procs.append(start_service(test_profile, service, "api", name=f"{service}-api-fuzz", http_port=str(port),
                                       mongo_db=f"{service}_fuzz", outbox_relay_enabled="false"))
            urls[service] = f"http://127.0.0.1:{port}"
        yield urls
    finally:
        for proc in procs:
            proc.stop()


def _fuzz_test(service: str) -> Callable[..., None]:
    schema = schemathesis.openapi.from_path(REPO_ROOT / "services" / service / "schemas" / "openapi.json")

    @schema.parametrize()
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    def test(case: Any, fuzzed_apis: dict[str, str], test_profile: Profile) -> None:
        admin = token(test_profile, "fuzzer", "admin", org="91210100MA0QFUZZ0X")
        response = case.call(base_url=fuzzed_apis[service], headers={"Authorization": f"Bearer {admin}"},
                             timeout=15)
        where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
        assert response.status_code < 500, where
        if response.status_code >= 400:
            # schemathesis keeps every header's values as a list
            content_types = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])
            assert content_types[0].startswith("application/problem+json"), where

    test.__name__ = f"test_{service}_api_answers_any_input_without_a_server_error"
    return cast(Callable[..., None], test)


def _has_operations(service: str) -> bool:
    document = json.loads((REPO_ROOT / "services" / service / "schemas" / "openapi.json").read_text())
    return bool(document.get("paths"))


# A service whose API has no operations yet (publicity) has nothing to fuzz.
for _service in filter(_has_operations, SERVICES):
    globals()[f"test_{_service}_api_answers_any_input_without_a_server_error"] = _fuzz_test(_service)
