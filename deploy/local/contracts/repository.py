"""Checks of the event schemas against the repository: compatibility with what git HEAD holds, and
every consumer's needs against its producer's committed schema."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from contracts.compatibility import incompatibilities, unaccepted
from contracts.discovery import EVENTS_DIR, SCHEMAS_DIR, definitions, published_events, service_names
from contracts.event_schemas import event_schema


def committed_text(root: Path, rel: Path) -> str | None:
    """The file as committed at HEAD, or None when HEAD lacks it (or there is no git history)."""
    try:
        done = subprocess.run(["git", "show", f"HEAD:{rel.as_posix()}"], cwd=root, capture_output=True,
                              check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode() if done.returncode == 0 else None


def _committed_event_schemas(root: Path) -> list[Path]:
    try:
        done = subprocess.run(["git", "ls-tree", "-r", "--name-only", "HEAD", "--", "services"], cwd=root,
                              capture_output=True, check=False, timeout=30, text=True)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []
    pattern = re.compile(rf"^services/[^/]+/{SCHEMAS_DIR}/{EVENTS_DIR}/[^/]+\.json$")
    return [Path(line) for line in done.stdout.splitlines() if pattern.match(line)]


def compatibility_problems(root: Path) -> list[str]:
    """Incompatible changes of the generated event schemas against the committed ones.

    The baseline of each schema is its version at git HEAD, or the working copy when HEAD does not
    have it yet (a new event: nothing to be compatible with but what is about to be committed). An
    event schema committed at HEAD that the code no longer generates is a removed event: incompatible.
    """
    fresh = {e.path: event_schema(e) for service in service_names()
             for e in published_events(service)}
    problems = []
    for rel, new in sorted(fresh.items()):
        text = committed_text(root, rel)
        if text is None and (root / rel).exists():
            text = (root / rel).read_text(encoding="utf-8")
        if text is None:
            continue
        problems += [f"{rel.stem}: {p}" for p in incompatibilities(json.loads(text), new)]
    for rel in _committed_event_schemas(root):
        if rel not in fresh:
            problems.append(f"{rel.stem}: no longer published (its schema {rel} is committed at HEAD)")
    return problems


def consumer_problems(root: Path) -> list[str]:
    """Every field a consumer requires that its producer's committed schema lacks or types differently.

    Producers are found by file: `services/*/schemas/events/<event type>.json`, exactly one of them.
    """
    problems = []
    for service, definition in definitions().items():
        for event_type, subscription in sorted(definition.handlers.by_type.items()):
            reader = f"{service} ({subscription.payload.__name__}) reading {event_type}"
            files = sorted(root.glob(f"services/*/{SCHEMAS_DIR}/{EVENTS_DIR}/{event_type}.json"))
            if not files:
                problems.append(f"{reader}: no service publishes it (no services/*/{SCHEMAS_DIR}/{EVENTS_DIR}/"
                                f"{event_type}.json)")
                continue
            if len(files) > 1:
                problems.append(f"{reader}: published by more than one service: {[str(f) for f in files]}")
                continue
            producer = json.loads(files[0].read_text(encoding="utf-8"))
            consumer = subscription.payload.model_json_schema(mode="validation")
            problems += [f"{reader}: {p}" for p in unaccepted(consumer, producer)]
    return problems


