"""A record of every store command whose filter the local store would answer by scanning.

FerretDB 1.x serves only an exact `{_id: <value>}` filter from an index; any other filter (`{_id,
version}`, `$in` on `_id`, a field, an empty filter) reads and decodes every document of the
collection, so its cost grows with the data. When `store_filter_audit_dir` is set (the stack tests set
it), each process writes one JSON line per such command (find, update, findAndModify, delete, count,
aggregate, distinct) to `<dir>/<service>-<pid>.jsonl`: the collection, the command, the filter's
*shape* (field names and operators, never values) and where it came from (the HTTP route template,
the background task, the event type being consumed, the outbox relay). A test then fails on any
scanning filter it does not list as a deliberate exception with its reason.

Off by default: it costs a JSON line per command.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pymongo import monitoring

# Where the current store work comes from: a label, or the ASGI scope of the HTTP request (its route
# template is only known once the router matched, i.e. by the time the endpoint talks to the store).
_origin: ContextVar[str | MutableMapping[str, Any]] = ContextVar("store_origin", default="process")

_FILTER_OF = {"find": "filter", "findAndModify": "query", "count": "query", "distinct": "query"}
_STATEMENTS = {"update": "updates", "delete": "deletes"}


def set_origin(origin: str | MutableMapping[str, Any]) -> object:
    """Label the store work of the current task (and what it awaits); returns a token for reset_origin."""
    return _origin.set(origin)


def reset_origin(token: object) -> None:
    _origin.reset(token)  # type: ignore[arg-type]


def origin_label() -> str:
    origin = _origin.get()
    if isinstance(origin, str):
        return origin
    route = origin.get("route")
    return f"http {origin.get('method', '?')} {getattr(route, 'path', None) or origin.get('path', '?')}"


def filter_shape(value: Any) -> Any:
    """The filter without its values: field names and operators kept, every value replaced by "?"
    (and a list of values by "[?]")."""
    if isinstance(value, dict):
        return {k: filter_shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        # A list of plain values ($in, $nin) is one "[?]" whatever its length, so a key does not depend
        # on how many values a request sent; a list of filters ($or, $and) keeps each one's shape.
        if all(not isinstance(v, (dict, list)) for v in value):
            return "[?]"
        return [filter_shape(v) for v in value]
    return "?"


def is_indexed_by_id(query: Any) -> bool:
    """True only for the one filter FerretDB 1.x answers from an index: exactly `{_id: <plain value>}`."""
    return (isinstance(query, dict) and list(query) == ["_id"]
            and not isinstance(query["_id"], (dict, list)))


def scanning_filters(command_name: str, command: Mapping[str, Any]) -> list[Any]:
    """The shapes of a command's filters that would scan on FerretDB (empty when it has none)."""
    if command_name in _FILTER_OF:
        queries = [command.get(_FILTER_OF[command_name]) or {}]
    elif command_name in _STATEMENTS:
        queries = [s.get("q", {}) for s in command.get(_STATEMENTS[command_name], [])]
    elif command_name == "aggregate":
        pipeline = list(command.get("pipeline") or [])
        first = pipeline[0] if pipeline else {}
        if len(pipeline) == 1 and "$match" in first:
            queries = [first["$match"]]
        else:
            # A pipeline reads the collection unless it starts by matching one _id; its shape is the
            # first stage's filter (if any) and the names of its stages.
            match = first.get("$match", {}) if isinstance(first, Mapping) else {}
            if is_indexed_by_id(match):
                return []
            return [{"$match": filter_shape(match), "$stages": ",".join(next(iter(stage)) for stage in pipeline)}]
    else:
        return []
    return [filter_shape(q) for q in queries if not is_indexed_by_id(q)]


class FilterAudit(monitoring.CommandListener):
    def __init__(self, directory: str, service: str) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        self._path = Path(directory) / f"{service}-{os.getpid()}.jsonl"
        self._service = service

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        scans = scanning_filters(name, event.command)
        if not scans:
            return
        collection = event.command.get(name)
        with self._path.open("a", encoding="utf-8") as out:
            for shape in scans:
                out.write(json.dumps({"at": time.time(), "service": self._service, "collection": collection,
                                      "command": name, "shape": shape,
                                      "origin": origin_label()}, sort_keys=True) + "\n")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
