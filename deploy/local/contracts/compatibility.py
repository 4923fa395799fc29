"""Comparing event schemas: how a new version breaks old readers and stored events
(`incompatibilities`), and what a producer may send that a consumer cannot take (`unaccepted`).

Pure functions of JSON Schemas; `contracts.repository` applies them to the repository.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.discovery import ContractError

JsonObject = dict[str, Any]

# Comparing schemas. Both checks reason about the same facts of a (sub)schema: which JSON types it
# allows, which enum values, which string formats, which properties (and which are required), and
# what its array items are. Local `$ref`s are followed; `anyOf`/`oneOf` are unions.

_MAX_DEPTH = 24  # recursive models: compare this deep, no deeper


@dataclass(frozen=True)
class _Shape:
    types: frozenset[str] | None  # None: any JSON value
    enum: frozenset[str] | None  # allowed values as canonical JSON; None: not restricted
    formats: frozenset[str]  # formats of the string branches, "" for a string without one
    properties: Mapping[str, JsonObject]
    required: frozenset[str]
    items: JsonObject | None
    closed: bool  # additionalProperties is false
    external_ref: str | None  # a reference to another document, compared by name only


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _resolve(schema: JsonObject, root: JsonObject) -> JsonObject:
    """Follow local `$ref`s (JSON Pointers into `root`), keeping any keywords beside the `$ref`."""
    for _ in range(_MAX_DEPTH):
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        target: Any = root
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise ContractError(f"unresolvable reference {ref}")
            target = target[part]
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings}
    raise ContractError("reference chain too long")


def _shape(schema: JsonObject, root: JsonObject) -> _Shape:
    s = _resolve(schema, root)
    if isinstance(s.get("$ref"), str):
        return _Shape(None, None, frozenset(), {}, frozenset(), None, False, s["$ref"])
    branches = s.get("anyOf") or s.get("oneOf")
    if isinstance(branches, list) and branches:
        return _union([_shape(b, root) for b in branches])
    if isinstance(s.get("allOf"), list):
        merged: JsonObject = {k: v for k, v in s.items() if k != "allOf"}
        for part in s["allOf"]:
            merged.update(_resolve(part, root))
        return _shape(merged, root)

    enum: frozenset[str] | None = None
    values: list[Any] | None = None
    if "const" in s:
        values = [s["const"]]
    elif isinstance(s.get("enum"), list):
        values = list(s["enum"])
    if values is not None:
        enum = frozenset(_canonical(v) for v in values)
    declared = s.get("type")
    types: frozenset[str] | None
    if isinstance(declared, str):
        types = frozenset({declared})
    elif isinstance(declared, list):
        types = frozenset(str(t) for t in declared)
    elif values is not None:
        types = frozenset(_json_type(v) for v in values)
    elif "properties" in s:
        types = frozenset({"object"})
    elif "items" in s:
        types = frozenset({"array"})
    else:
        types = None
    formats = frozenset({str(s.get("format", ""))}) if types is None or "string" in types else frozenset()
    properties = s.get("properties") if isinstance(s.get("properties"), dict) else {}
    items = s.get("items") if isinstance(s.get("items"), dict) else None
    return _Shape(types, enum, formats, properties or {}, frozenset(s.get("required", ())), items,
                  s.get("additionalProperties") is False, None)


def _union(shapes: Sequence[_Shape]) -> _Shape:
    """The shape of `anyOf`: any branch's values. A null branch does not lift the others' enum."""
    types: frozenset[str] | None = frozenset()
    for shape in shapes:
        types = None if types is None or shape.types is None else types | shape.types
    restricted = [s for s in shapes if s.types != frozenset({"null"})]
    enum: frozenset[str] | None = None
    if restricted and all(s.enum is not None for s in restricted):
        enum = frozenset().union(*(s.enum or frozenset() for s in restricted))
    objects = [s for s in shapes if s.properties]
    properties: dict[str, JsonObject] = {}
    for shape in objects:
        properties.update(shape.properties)
    required = frozenset.intersection(*(s.required for s in objects)) if objects else frozenset()
    items = next((s.items for s in shapes if s.items is not None), None)
    refs = {s.external_ref for s in shapes if s.external_ref}
    return _Shape(types, enum, frozenset().union(*(s.formats for s in shapes)), properties, required, items,
                  bool(objects) and all(s.closed for s in objects), ",".join(sorted(refs)) or None)


def _show_types(types: frozenset[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types)) or "nothing"


def _show_values(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def incompatibilities(old_schema: dict[str, Any], new_schema: dict[str, Any]) -> list[str]:
    """How `new_schema` breaks readers and stored events that followed `old_schema`; empty if it does not.

    Incompatible: a property removed, a property newly required (events already in the topic lack
    it), a changed type or string format (nullable included), enum values removed, values newly
    restricted to an enum. Compatible: new optional properties, enum values added, an enum lifted,
    changes to titles, descriptions and defaults. Nested objects and array items are compared the
    same way, and each finding names its property path.
    """
    return _evolution(old_schema, old_schema, new_schema, new_schema, "", 0)


def _evolution(old: JsonObject, old_root: JsonObject, new: JsonObject, new_root: JsonObject, path: str,
               depth: int) -> list[str]:
    if depth > _MAX_DEPTH:
        return []
    o, n = _shape(old, old_root), _shape(new, new_root)
    where = path or "(root)"
    if o.external_ref or n.external_ref:
        return [] if o.external_ref == n.external_ref else [
            f"{where}: reference changed from {o.external_ref} to {n.external_ref}"]
    if o.types != n.types:
        return [f"{where}: type changed from {_show_types(o.types)} to {_show_types(n.types)}"]
    problems = []
    if o.formats != n.formats:
        problems.append(f"{where}: string format changed from {_show_values(o.formats) or 'none'} to "
                        f"{_show_values(n.formats) or 'none'}")
    if o.enum is not None and n.enum is not None and o.enum - n.enum:
        problems.append(f"{where}: enum values removed: {_show_values(o.enum - n.enum)}")
    if o.enum is None and n.enum is not None:
        problems.append(f"{where}: values newly restricted to {_show_values(n.enum)}")
    for name, old_prop in sorted(o.properties.items()):
        if name not in n.properties:
            problems.append(f"{_join(path, name)}: property removed")
        else:
            problems += _evolution(old_prop, old_root, n.properties[name], new_root, _join(path, name), depth + 1)
    for name in sorted(n.required - o.required):
        added = "" if name in o.properties else " (a new property)"
        problems.append(f"{_join(path, name)}: property newly required{added}")
    if o.items is not None and n.items is not None:
        problems += _evolution(o.items, old_root, n.items, new_root, f"{path}[]", depth + 1)
    return problems


def unaccepted(consumer_schema: dict[str, Any], producer_schema: dict[str, Any]) -> list[str]:
    """What a producer may send that a consumer cannot take; empty when every producer value fits.

    A field the consumer requires must be a required producer field. Every field the consumer reads,
    required or not, must have a type, string format and enum values the consumer accepts (a mismatch
    on an optional field fails validation too, and dead-letters the event). Integers fit numbers; a
    plain string accepts any format. Constraints such as patterns and lengths are not compared.
    """
    return _acceptance(consumer_schema, consumer_schema, producer_schema, producer_schema, "", 0)


def _acceptance(consumer: JsonObject, c_root: JsonObject, producer: JsonObject, p_root: JsonObject, path: str,
                depth: int) -> list[str]:
    if depth > _MAX_DEPTH:
        return []
    c, p = _shape(consumer, c_root), _shape(producer, p_root)
    where = path or "(root)"
    if c.external_ref or p.external_ref:
        return [] if c.external_ref == p.external_ref else [
            f"{where}: consumer refers to {c.external_ref}, producer to {p.external_ref}"]
    problems = []
    if c.types is not None:
        if p.types is None:
            return [f"{where}: producer allows any value, consumer takes only {_show_types(c.types)}"]
        extra = {t for t in p.types if t not in c.types and not (t == "integer" and "number" in c.types)}
        if extra:
            return [f"{where}: producer sends {_show_types(p.types)}, consumer takes {_show_types(c.types)}"]
    if c.enum is not None:
        if p.enum is None:
            problems.append(f"{where}: consumer takes only {_show_values(c.enum)}, producer does not restrict values")
        elif p.enum - c.enum:
            problems.append(f"{where}: producer may send {_show_values(p.enum - c.enum)}, consumer does not take it")
    if "" not in c.formats and c.formats and p.formats - c.formats:
        problems.append(f"{where}: producer sends strings of format {_show_values(p.formats) or 'none'}, consumer "
                        f"needs {_show_values(c.formats)}")
    for name, c_prop in sorted(c.properties.items()):
        needed = name in c.required
        if name not in p.properties:
            if needed:
                problems.append(f"{_join(path, name)}: required by the consumer, missing in the producer's schema")
            continue
        if needed and name not in p.required:
            problems.append(f"{_join(path, name)}: required by the consumer, optional in the producer's schema")
        problems += _acceptance(c_prop, c_root, p.properties[name], p_root, _join(path, name), depth + 1)
    if c.closed:
        problems += [f"{_join(path, name)}: sent by the producer, forbidden by the consumer"
                     for name in sorted(set(p.properties) - set(c.properties))]
    if c.items is not None and p.items is not None:
        problems += _acceptance(c.items, c_root, p.items, p_root, f"{path}[]", depth + 1)
    return problems

