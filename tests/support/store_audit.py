"""Reading the store-filter audit the stack's service processes write (servicekit.store_audit).

Every process of the test stack records each store command whose filter FerretDB would answer by
scanning the whole collection. `unexpected_scans` compares what was recorded during a test with the
deliberate exceptions in tests/stack/store_scans.py.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.stack.store_scans import EXPECTED_SCANS, ScanKey


def audit_dir(data_dir: Path) -> Path:
    return data_dir / "store-filter-audit"


def recorded_since(directory: Path, since: float) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry["at"] >= since:
                lines.append(entry)
    return lines


def key_of(entry: dict[str, Any]) -> ScanKey:
    return ScanKey(entry["service"], entry["collection"], entry["command"],
                   json.dumps(entry["shape"], sort_keys=True, separators=(",", ":")))


def unexpected_scans(entries: list[dict[str, Any]]) -> list[str]:
    """One line per scanning filter (with where it came from and how often) not among the exceptions."""
    seen = Counter((key_of(e), e["origin"]) for e in entries if key_of(e) not in EXPECTED_SCANS)
    return [f"{key.service} {key.command} {key.collection} {key.shape} from {origin!r} (x{count})"
            for (key, origin), count in sorted(seen.items(), key=lambda item: str(item[0]))]
