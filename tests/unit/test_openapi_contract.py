"""The OpenAPI documents tell the truth the kit derives from routes (servicekit.openapi), the action
routes have one naming convention with the old names kept working, and request bodies refuse the
coercions pydantic's lax mode would make."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import ValidationError
from registry.definition import REGISTRY
from servicekit.app import create_app
from servicekit.problems import PROBLEM_JSON
from servicekit.service import ServiceDefinition
from trading.definition import TRADING
from training.courses.models import CourseCreate
from training.definition import TRAINING
from training.sessions.models import SessionCreate

DEFINITIONS = {"registry": REGISTRY, "trading": TRADING, "training": TRAINING}
METHODS = ("get", "post", "put", "patch", "delete")


def _document(definition: ServiceDefinition) -> dict[str, Any]:
    return create_app(definition).openapi()


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()
            if method in METHODS]


@pytest.mark.parametrize("service", sorted(DEFINITIONS))
def test_every_error_is_the_one_problem_schema(service: str) -> None:
    doc = _document(DEFINITIONS[service])
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, method, op in _operations(doc):
        errors = {code: r for code, r in op["responses"].items() if code.isdigit() and int(code) >= 400}
        assert "422" in errors or not (op.get("parameters") or op.get("requestBody")), (path, method)
        assert "503" in errors, (path, method)
        for code, response in errors.items():
            assert list(response["content"]) == [PROBLEM_JSON], (path, method, code)
            assert response["content"][PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}


@pytest.mark.parametrize("service", sorted(DEFINITIONS))
def test_statuses_follow_from_what_the_route_declares(service: str) -> None:
    doc = _document(DEFINITIONS[service])
    for path, method, op in _operations(doc):
        codes = set(op["responses"])
        where = (path, method, sorted(codes))
        if op.get("security") and {} not in op["security"]:
            assert "401" in codes, where
        if "{" in path:
            assert "404" in codes, where
        if "requestBody" in op:
            assert {"413", "415", "422"} <= codes, where
        if_match = [p for p in op.get("parameters", []) if p["in"] == "header" and p["name"] == "If-Match"]
        if if_match and if_match[0].get("required"):
            assert {"412", "428"} <= codes, where
        if "201" in codes and any(p["name"] == "Idempotency-Key" for p in op.get("parameters", [])):
            assert "200" in codes, where  # the replay
        for parameter in op.get("parameters", []):
            assert "anyOf" not in parameter["schema"], (where, parameter)  # nothing sends null on the wire


def test_if_match_is_required_where_428_is_the_answer_without_it() -> None:
    doc = _document(TRADING)
    publish = doc["paths"]["/v1/listings/{listing_id}/publication"]["post"]
    header = next(p for p in publish["parameters"] if p["name"] == "If-Match")
    assert header["required"] is True and header["schema"]["pattern"]
    enrolments = _document(TRAINING)["paths"]["/v1/enrolments/{enrolment_id}/approval"]["post"]
    optional = next(p for p in enrolments["parameters"] if p["name"] == "If-Match")
    assert not optional.get("required") and "428" not in enrolments["responses"]


def test_public_operations_carry_no_security_requirement() -> None:
    trading = _document(TRADING)["paths"]
    assert trading["/v1/listings/{listing_id}"]["get"]["security"] == [{}, {"HTTPBearer": []}]
    assert "security" not in trading["/v1/fairs/{fair_id}"]["get"]
    assert trading["/v1/listings/{listing_id}"]["patch"]["security"] == [{"HTTPBearer": []}]
    registry = _document(REGISTRY)["paths"]
    assert "security" not in registry["/v1/public/certificates/{certificate_number}"]["get"]
    training = _document(TRAINING)["paths"]
    assert "security" not in training["/v1/courses/{course_id}"]["get"]
    assert "security" not in training["/v1/sessions"]["get"]
    assert "OptionalBearer" not in _document(TRADING)["components"]["securitySchemes"]


def test_identifier_formats_are_in_the_schema() -> None:
    schemas = _document(TRADING)["components"]["schemas"]
    assert schemas["ListingCreate"]["properties"]["application_number"]["pattern"].startswith("^(?:ZL|CN)?")
    ipc = schemas["ListingCreate"]["properties"]["ipc_codes"]
    assert "pattern" in str(ipc)
    organisations = _document(REGISTRY)["components"]["schemas"]["OrganisationCreate"]["properties"]
    assert organisations["credit_code"]["pattern"] and organisations["region_code"]["pattern"]


@pytest.mark.parametrize(("service", "old", "new"), [
    ("trading", "/v1/listings/{listing_id}/publish", "/v1/listings/{listing_id}/publication"),
    ("trading", "/v1/listings/{listing_id}/withdraw", "/v1/listings/{listing_id}/withdrawal"),
    ("trading", "/v1/demands/{demand_id}/close", "/v1/demands/{demand_id}/closing"),
    ("registry", "/v1/evaluations/{evaluation_id}/refuse", "/v1/evaluations/{evaluation_id}/refusal"),
    ("training", "/v1/enrolments/{enrolment_id}/approve", "/v1/enrolments/{enrolment_id}/approval"),
    ("training", "/v1/enrolments/{enrolment_id}/book", "/v1/enrolments/{enrolment_id}/booking"),
    ("training", "/v1/enrolments/{enrolment_id}/cancel", "/v1/enrolments/{enrolment_id}/cancellation"),
])
def test_actions_are_nouns_and_the_old_verbs_still_answer(service: str, old: str, new: str) -> None:
    app = create_app(DEFINITIONS[service])
    routes = {r.path: r for r in app.routes if isinstance(r, APIRoute)}
    assert routes[old].endpoint is routes[new].endpoint
    assert new in app.openapi()["paths"] and old not in app.openapi()["paths"]


COURSE = {"title": "Patent drafting", "audience": "engineers", "credit_hours": "16", "modules": []}


@pytest.mark.parametrize("pass_mark", [False, True])
def test_a_boolean_is_not_a_number(pass_mark: bool) -> None:
    with pytest.raises(ValidationError, match="not true or false"):
        CourseCreate.model_validate({**COURSE, "pass_mark": pass_mark})
    assert CourseCreate.model_validate({**COURSE, "pass_mark": 70}).pass_mark == 70


@pytest.mark.parametrize("starts_at", [0, 1_700_000_000, 1.5])
def test_a_number_is_not_a_date_time(starts_at: float) -> None:
    session = {"starts_at": starts_at, "ends_at": "2030-01-01T12:00:00Z", "venue": "Dalian", "capacity": 10,
               "coordinator": "coord-1"}
    with pytest.raises(ValidationError, match="not a number"):
        SessionCreate.model_validate(session)
