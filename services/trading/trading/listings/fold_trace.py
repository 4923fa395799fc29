"""A diagnostic: when each step of each segment fold happened, as JSON lines in a file.

Why: the pairs over 100 ms of the publish benchmark mostly overlap a fold, and a fold runs for seconds in
two processes (the API's and the folder's, fold_process), so "during a fold" does not say which of its
steps the requests met. With `search_fold_trace_file` set (off by default; the publish benchmark sets it
with `--timeline`), both processes append `{"at": <Unix seconds>, "step": <name>}` per step of the
folder's runs, and `tests.benchmarks.timeline` counts the slow pairs in flight during each step. It found
that the pairs over 100 ms of a quick run were nearly all in flight during a fold's last quarter-second in
the API's process (README, "Thirty-sixth session").

The steps, in order: STARTED (the API, under the fold lock), SEGMENTS_READ (the process folding, the live
segments in hand), MERGED, FILED (heads and postings documents written), CARRY_MADE (the new carry's
document and its decoded Segment; before the thirty-seventh session the carry was decoded after it was
written, a step "carry decoded"), CARRY_WRITTEN, TAKEN_BACK (the API, the folder's process answered;
absent when the API folded itself), LIVE_LIST_WRITTEN, SEGMENTS_DELETED (the end). A batch that folds its
own removals writes none. A line is one `write` to a file opened for appending, so the two processes'
lines do not mix.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

STARTED = "started"
SEGMENTS_READ = "segments read"
MERGED = "merged"
FILED = "filed"
CARRY_MADE = "carry made"
CARRY_WRITTEN = "carry written"
TAKEN_BACK = "taken back"
LIVE_LIST_WRITTEN = "live list written"
SEGMENTS_DELETED = "segments deleted"
STEPS = (STARTED, SEGMENTS_READ, MERGED, FILED, CARRY_MADE, CARRY_WRITTEN, TAKEN_BACK, LIVE_LIST_WRITTEN,
         SEGMENTS_DELETED)

_file: Path | None = None


def configure(path: str | None) -> None:
    """Trace the folds of this process into `path` (None or empty: not at all)."""
    global _file
    _file = Path(path) if path else None


def step(name: str) -> None:
    """The fold running in this process has reached step `name` (nothing when not tracing)."""
    if _file is None:
        return
    with _file.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"at": time.time(), "step": name}) + "\n")


def read(path: Path) -> list[tuple[float, str]]:
    """The steps a trace file holds, in the order of their times."""
    if not path.exists():
        return []
    steps = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted((float(s["at"]), str(s["step"])) for s in steps)
