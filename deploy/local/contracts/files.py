"""The generated files: built in memory from the code, written to the repository, or compared with it.

Per service `services/<service>/schemas/` holds `events/<event type>.json` (the JSON Schema of every
event payload it publishes), `asyncapi.json` (its topics) and `openapi.json` (its HTTP API, as its
FastAPI app publishes it).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from servicekit.service import ServiceDefinition

from contracts.asyncapi import asyncapi_document
from contracts.discovery import EVENTS_DIR, SCHEMAS_DIR, definitions, published_events, service_names
from contracts.event_schemas import event_schema, render

JsonObject = dict[str, Any]


def openapi_document(definition: ServiceDefinition) -> JsonObject:
    """The service's OpenAPI document. Creating the app only builds objects: it connects to nothing
    until its lifespan starts, which `openapi()` does not do."""
    from servicekit.app import create_app  # imported here: the app stack is only needed for this file

    return dict(create_app(definition).openapi())


def generate() -> dict[Path, str]:
    """Every generated file (path relative to the repository root -> content), built in memory."""
    services = definitions()
    published = {service: published_events(service) for service in services}
    all_published = {e.event_type: e for events in published.values() for e in events}
    files: dict[Path, str] = {}
    for service, definition in services.items():
        base = Path("services", service, SCHEMAS_DIR)
        for event in published[service]:
            files[event.path] = render(event_schema(event))
        files[base / "asyncapi.json"] = render(asyncapi_document(definition, published[service], all_published))
        files[base / "openapi.json"] = render(openapi_document(definition))
    return files


def _stale_event_schemas(root: Path, files: Mapping[Path, str]) -> list[Path]:
    """Event schema files on disk that the code no longer generates (their event was removed)."""
    found = []
    for service in service_names():
        folder = root / "services" / service / SCHEMAS_DIR / EVENTS_DIR
        if folder.is_dir():
            found += [p.relative_to(root) for p in sorted(folder.glob("*.json")) if p.relative_to(root) not in files]
    return found


def write(root: Path) -> list[str]:
    """Write every generated file that differs, remove stale event schemas; returns what changed."""
    files = generate()
    changed = []
    for rel, content in files.items():
        target = root / rel
        if not target.exists() or target.read_text(encoding="utf-8") != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            changed.append(f"wrote {rel}")
    for rel in _stale_event_schemas(root, files):
        (root / rel).unlink()
        changed.append(f"removed {rel} (no longer published)")
    return changed


def check(root: Path, max_diff_lines: int = 40) -> list[str]:
    """Regenerate in memory and compare with the files on disk; one readable entry per stale file."""
    files = generate()
    problems = []
    for rel, content in files.items():
        target = root / rel
        if not target.exists():
            problems.append(f"missing: {rel}")
            continue
        current = target.read_text(encoding="utf-8")
        if current != content:
            diff = list(difflib.unified_diff(current.splitlines(), content.splitlines(), f"{rel} (on disk)",
                                             f"{rel} (generated)", lineterm="", n=2))
            shown = diff[:max_diff_lines]
            if len(diff) > max_diff_lines:
                shown.append(f"... {len(diff) - max_diff_lines} more diff lines")
            problems.append(f"stale: {rel}\n" + "\n".join(f"    {line}" for line in shown))
    problems += [f"not generated any more (its event was removed): {rel}" for rel in _stale_event_schemas(root, files)]
    return problems

