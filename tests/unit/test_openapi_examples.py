"""Every example the OpenAPI documents passes the API's own validation: a client that copies an
example from the documentation gets it accepted (issue 11: the credit code example failed its own
check character). Body examples go through the field's real validators (pydantic, with the AfterValidators
that check check characters and code lists) and the documented pattern; query examples through the
documented pattern and, for patent numbers, the canonicaliser the route uses."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from registry.definition import REGISTRY
from servicekit.app import create_app
from servicekit.service import ServiceDefinition
from trading.definition import TRADING
from trading.patents.params import application_number_param
from training.definition import TRAINING

DEFINITIONS = {"registry": REGISTRY, "trading": TRADING, "training": TRAINING}


def _body_models(definition: ServiceDefinition) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    for route in create_app(definition).routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            model = route.body_field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                found.add(model)
    # Nested request models (a negotiation's terms...) too.
    pending = list(found)
    while pending:
        model = pending.pop()
        for info in model.model_fields.values():
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in found:
                found.add(annotation)
                pending.append(annotation)
    return found


def _examples(schema: dict[str, Any], *, in_list: bool = False) -> list[tuple[Any, bool, str | None]]:
    """(example, whether it is one item of a list, the documented pattern) found in a property's schema."""
    out = [(example, in_list, schema.get("pattern")) for example in schema.get("examples", [])]
    for branch in schema.get("anyOf", []):
        out += _examples(branch, in_list=in_list)
    if isinstance(schema.get("items"), dict):
        out += _examples(schema["items"], in_list=True)
    return out


def _cases() -> list[tuple[str, type[BaseModel], str, Any, bool, str | None]]:
    cases = []
    for service, definition in sorted(DEFINITIONS.items()):
        for model in sorted(_body_models(definition), key=lambda m: m.__name__):
            properties = model.model_json_schema(ref_template="{model}").get("properties", {})
            for name, schema in properties.items():
                for example, in_list, pattern in _examples(schema):
                    cases.append((service, model, name, example, in_list, pattern))
    return cases


CASES = _cases()


def test_there_are_examples_to_check() -> None:
    assert any(model.__name__ == "ListingCreate" for _, model, *_ in CASES)


@pytest.mark.parametrize(("service", "model", "name", "example", "in_list", "pattern"), CASES,
                         ids=[f"{c[0]}-{c[1].__name__}.{c[2]}={c[3]!r}" for c in CASES])
def test_body_example_passes_validation(service: str, model: type[BaseModel], name: str, example: Any,
                                        in_list: bool, pattern: str | None) -> None:
    # The field alone, with every constraint and validator the model gives it.
    try:
        model.__pydantic_validator__.validate_assignment(model.model_construct(), name,
                                                         [example] if in_list else example)
    except ValidationError as exc:
        pytest.fail(f"{service} {model.__name__}.{name}: the example {example!r} is refused: {exc}")
    if pattern is not None and isinstance(example, str):
        assert re.search(pattern, example), f"{example!r} does not match the documented pattern {pattern}"


@pytest.mark.parametrize("service", sorted(DEFINITIONS))
def test_query_examples_match_their_pattern(service: str) -> None:
    doc = create_app(DEFINITIONS[service]).openapi()
    for path, item in doc["paths"].items():
        for op in item.values():
            for parameter in op.get("parameters", []) if isinstance(op, dict) else []:
                schema = parameter.get("schema", {})
                branches = [schema, *schema.get("anyOf", [])]
                for example in [*parameter.get("examples", {}).values(), *schema.get("examples", [])]:
                    value = str(example.get("value") if isinstance(example, dict) else example)
                    patterns = [b["pattern"] for b in branches if "pattern" in b]
                    assert all(re.search(p, value) for p in patterns), (path, parameter["name"], value)
                    if parameter["name"] == "application_number":
                        assert application_number_param(value) is not None
