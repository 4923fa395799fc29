"""MongoDB update operators applied in memory: the state a tallied aggregate's write leaves (its
contribution goes into the same write, servicekit.tallies), and the document an upsert would insert (so
a write expected to create can be sent as an insert, servicekit.mongo.apply_once)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def parent_of(document: dict[str, Any], path: str, create: bool) -> tuple[dict[str, Any] | None, str]:
    parts = path.split(".")
    node: Any = document
    for part in parts[:-1]:
        if not isinstance(node, dict):
            return None, parts[-1]
        if part not in node:
            if not create:
                return None, parts[-1]
            node[part] = {}
        node = node[part]
    return (node if isinstance(node, dict) else None), parts[-1]


def updated(document: Mapping[str, Any], update: Mapping[str, Mapping[str, Any]], *,
            inserting: bool = False) -> dict[str, Any]:
    """The document as `update` leaves it, computed in memory (the operators the services use on their
    aggregates: $set, $setOnInsert, $unset, $inc, $push with or without $each). An operator outside that
    list raises, so a new kind of update cannot silently skew a tally or an inserted document."""
    state = copy.deepcopy(dict(document))
    for operator, fields in update.items():
        if operator == "$setOnInsert" and not inserting:
            continue
        for path, value in fields.items():
            if operator in ("$set", "$setOnInsert"):
                parent, leaf = parent_of(state, path, create=True)
                if parent is not None:
                    parent[leaf] = copy.deepcopy(value)
            elif operator == "$unset":
                parent, leaf = parent_of(state, path, create=False)
                if parent is not None:
                    parent.pop(leaf, None)
            elif operator == "$inc":
                parent, leaf = parent_of(state, path, create=True)
                if parent is not None:
                    parent[leaf] = (parent.get(leaf) or 0) + value
            elif operator == "$push":
                parent, leaf = parent_of(state, path, create=True)
                if parent is not None:
                    items = value["$each"] if isinstance(value, Mapping) and "$each" in value else [value]
                    parent[leaf] = [*(parent.get(leaf) or []), *copy.deepcopy(list(items))]
            else:
                raise ValueError(f"an update uses {operator}, which is not computed in memory")
    return state
