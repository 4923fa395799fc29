"""Property-based fuzzing of every API from its OpenAPI snapshot (schemathesis), against the real stack.

Every schemathesis check runs (the equivalent of `--checks all`): no 5xx, every status, content type,
header and body as documented, valid data accepted, invalid data and missing required headers
refused, unsupported methods answered 405 with a correct `Allow`, authentication enforced where it is
declared. The only failures tolerated are listed, each with its reason, in `fuzz_exceptions.toml`
beside this file: valid-looking data refused because of a check character or a cross-field rule that
JSON Schema cannot express.

Each service is fuzzed as an admin, and trading and training also as a participant acting for an
organisation (their routes split on that). Each service runs as an API process of its own, on its own
database and with its outbox relay off, so the junk it creates never reaches Kafka or the other tests.

`IPO_FUZZ_REPORT=<file>` records every failure (tolerated or not) as JSON lines instead of failing,
to survey a service after a change.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from devstack.layout import REPO_ROOT, SERVICES, Profile
from devstack.processes import ManagedProcess
from devstack.stack import Stack
from hypothesis import HealthCheck, Phase, assume, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from servicekit.http import encode_cursor

from tests.support.stack import start_service, token

pytestmark = pytest.mark.stack

# Bounded so the whole fuzz adds a few minutes to `make test`: the coverage phase (boundary values,
# missing headers, unsupported methods) plus this many random cases per operation and identity.
EXAMPLES_PER_OPERATION = 6
FUZZ_PORT_OFFSET = 40
EXCEPTIONS_FILE = Path(__file__).with_name("fuzz_exceptions.toml")
FUZZ_ORGANISATION = "91210100MA0QFUZZ0X"

# Who fuzzes each service: an admin everywhere; trading, training and publicity also a participant with an
# organisation, whose routes (acting for an organisation) an admin token does not reach.
IDENTITIES: dict[str, tuple[str, ...]] = {"registry": ("admin",), "trading": ("admin", "participant"),
                                          "training": ("admin", "participant"), "publicity": ("admin", "participant")}

CONFIG = {
    "checks": {
        # RFC 6585: 428 is how an origin server says a request must be conditional (If-Match).
        "missing_required_header": {"expected-statuses": ["400", "401", "403", "406", "415", "422", "428"]},
        # 412: the generated If-Match is a well-formed ETag naming a version the resource is not at, a
        # precondition on the server's state like the 409 schemathesis already accepts, not refused data.
        "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "412"]},
    },
}


@dataclass(frozen=True)
class Tolerated:
    service: str
    operation: str
    check: str
    status: int
    pointers: frozenset[str]
    reason: str

    def applies(self, service: str, failure: Failure, status: int) -> bool:
        return (self.service in ("*", service) and self.operation in ("*", failure.operation)
                and status == self.status and self.check in type(failure).checks)

    def names(self, blamed: str) -> bool:
        # "#/modules/*" stands for every item of the array.
        return any(blamed == p or (p.endswith("*") and blamed.startswith(p[:-1])) for p in self.pointers)


def tolerated(service: str, failure: Failure, status: int, body: Any) -> bool:
    """Whether every member the problem blames is named by an exception for this operation (one
    request can break two listed rules at once, e.g. a check character and a cross-field rule)."""
    entries = [t for t in TOLERATED if t.applies(service, failure, status)]
    errors = body.get("errors", []) if isinstance(body, dict) else []
    blamed = {e.get("pointer") or e.get("query") or e.get("path") or e.get("header") or ""
              for e in errors if isinstance(e, dict)}
    return bool(entries) and bool(blamed) and all(any(t.names(b) for t in entries) for b in blamed)


def load_exceptions(path: Path = EXCEPTIONS_FILE) -> list[Tolerated]:
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("exception", [])
    tolerated = []
    for entry in entries:
        if entry["check"] != "positive_data_acceptance":
            raise ValueError(f"{path.name}: only positive_data_acceptance failures may be tolerated: {entry}")
        if not entry.get("reason", "").strip():
            raise ValueError(f"{path.name}: every exception needs its reason: {entry}")
        tolerated.append(Tolerated(entry["service"], entry["operation"], entry["check"], int(entry["status"]),
                                   frozenset(entry["pointers"]), entry["reason"]))
    return tolerated


TOLERATED = load_exceptions()

# `format: cursor` (servicekit.routing.Pagination): valid cursors are what the API issues, the position
# after an id; like any client, the fuzzer sends cursors of that shape rather than arbitrary text.
schemathesis.openapi.format("cursor", st.builds(lambda last: encode_cursor([last]),
                                                st.text("abcdefghijklmnopqrstuvwxyz0123456789-", max_size=24)))


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


def _bearer(profile: Profile, identity: str) -> str:
    if identity == "admin":
        return token(profile, "fuzzer-admin", "admin", org=FUZZ_ORGANISATION)
    return token(profile, "fuzzer-participant", "participant", org=FUZZ_ORGANISATION)


def _record(report: str, service: str, identity: str, failure: Failure, status: int, body: Any,
            tolerated: bool) -> None:
    with open(report, "a", encoding="utf-8") as out:
        out.write(json.dumps({"service": service, "identity": identity, "operation": failure.operation,
                              "checks": list(type(failure).checks), "title": failure.title, "status": status,
                              "errors": body.get("errors") if isinstance(body, dict) else None,
                              "tolerated": tolerated, "message": failure.message[:400]}) + "\n")


def _fuzz_test(service: str, identity: str) -> Callable[..., None]:
    schema = schemathesis.openapi.from_path(REPO_ROOT / "services" / service / "schemas" / "openapi.json",
                                            config=SchemathesisConfig.from_dict(CONFIG))

    @schema.parametrize()
    # derandomize: the same cases on every run, so a green run here is a green run in CI; the cases
    # change with the schema (a changed OpenAPI explores anew), and a wider survey is one
    # IPO_FUZZ_REPORT run away.
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
              database=None, phases=[Phase.explicit, Phase.reuse, Phase.generate], derandomize=True)
    def test(case: Any, fuzzed_apis: dict[str, str], test_profile: Profile) -> None:
        # On the wire a text body has no type to get wrong: schemathesis itself does not count a
        # non-string text/plain body as invalid data once serialised, and text/csv is the same.
        assume(case.media_type != "text/csv" or isinstance(case.body, str))
        headers = {"Authorization": f"Bearer {_bearer(test_profile, identity)}"}
        sent = {k.lower() for k in (case.headers or {})}
        if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER) and "authorization" not in sent:
            # The case negates the headers, possibly by leaving out the required token: send it as generated.
            headers = {}
        response = case.call(base_url=fuzzed_apis[service], headers=headers, timeout=15)
        try:
            case.validate_response(response, headers=headers)
        except FailureGroup as group:
            try:
                body = response.json()
            except ValueError:
                body = None
            report = os.environ.get("IPO_FUZZ_REPORT")
            left = []
            for failure in group.exceptions:
                accepted = tolerated(service, failure, response.status_code, body)
                if report:
                    _record(report, service, identity, failure, response.status_code, body, accepted)
                if not accepted:
                    left.append(failure)
            if left and not report:
                raise FailureGroup(left, str(group)) from None

    test.__name__ = f"test_{service}_api_as_{identity}_passes_every_schemathesis_check"
    return cast(Callable[..., None], test)


def _has_operations(service: str) -> bool:
    document = json.loads((REPO_ROOT / "services" / service / "schemas" / "openapi.json").read_text())
    return bool(document.get("paths"))


def test_the_exceptions_file_only_tolerates_positive_data_with_reasons(tmp_path: Path) -> None:
    assert all(t.reason and t.check == "positive_data_acceptance" for t in TOLERATED)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[exception]]\nservice = "trading"\noperation = "GET /v1/listings"\n'
                   'check = "status_code_conformance"\nstatus = 418\npointers = ["#/x"]\nreason = "no"\n')
    with pytest.raises(ValueError, match="only positive_data_acceptance"):
        load_exceptions(bad)


# A service whose API has no operations has nothing to fuzz.
for _service in filter(_has_operations, SERVICES):
    for _identity in IDENTITIES[_service]:
        globals()[f"test_{_service}_api_as_{_identity}_passes_every_schemathesis_check"] = _fuzz_test(_service,
                                                                                                    _identity)
