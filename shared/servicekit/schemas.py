"""Request models: no silent coercions, and JSON Schemas that say what the validators enforce."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel, GetJsonSchemaHandler, NaiveDatetime, ValidationInfo, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


def not_nullable(*names: str) -> Callable[[dict[str, Any]], None]:
    """For `model_config["json_schema_extra"]` of an Update model: these fields may be left out but not
    sent as null (the service refuses null). Python needs `X | None = None` to tell "left out" apart;
    the schema should not offer null."""

    def strip_null(schema: dict[str, Any]) -> None:
        for name in names:
            prop = schema.get("properties", {}).get(name)
            if prop is None or "anyOf" not in prop:
                continue
            kept = [s for s in prop["anyOf"] if s.get("type") != "null"]
            prop.pop("anyOf")
            prop.pop("default", None)
            if len(kept) == 1:
                prop.update(kept[0])
            else:
                prop["anyOf"] = kept

    return strip_null


def _scalar_types(annotation: Any) -> set[Any]:
    """The plain types a field accepts, through Optional, unions and Annotated."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _scalar_types(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return set().union(*(_scalar_types(a) for a in get_args(annotation)))
    return {annotation}


_NUMBERS = (int, float, Decimal)
_TIMES = (date, datetime, AwareDatetime, NaiveDatetime)


def _stripped_min_length(schema: Any) -> None:
    """`minLength` counts after surrounding whitespace is stripped: say so with a pattern."""
    if not isinstance(schema, dict):
        return
    for branch in schema.get("anyOf", []):
        _stripped_min_length(branch)
    _stripped_min_length(schema.get("items"))
    least = schema.get("minLength")
    if schema.get("type") == "string" and least and "pattern" not in schema:
        schema["pattern"] = r"\S" if least == 1 else rf"\S[\s\S]{{{least - 2},}}\S"


class RequestModel(BaseModel):
    """Base of the request bodies: what pydantic's lax mode would coerce silently is refused instead.
    A JSON `true` is not the number 1 (`pass_mark: false` would be stored as 0), and a number is not a
    date or date-time (`starts_at: 0` would be 1970-01-01). Strings are still parsed (dates, decimals),
    which strict mode would refuse for the Python objects FastAPI validates."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        if cls.model_config.get("str_strip_whitespace"):
            for prop in handler.resolve_ref_schema(json_schema).get("properties", {}).values():
                _stripped_min_length(prop)
        return json_schema

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_coercions(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is None:
            return value
        accepted = _scalar_types(cls.model_fields[info.field_name].annotation)
        if isinstance(value, bool):
            if bool not in accepted and any(t in accepted for t in _NUMBERS):
                raise ValueError("expected a number, not true or false")
        elif (isinstance(value, int | float) and not any(t in accepted for t in _NUMBERS)
              and any(t in accepted for t in _TIMES)):
            raise ValueError("expected an RFC 3339 date or date-time string, not a number")
        return value
