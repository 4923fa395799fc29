"""One table for all benchmarks: each benchmark records its headline figures here, and `make bench`
(tests.benchmarks.all) prints them together, with their baselines, ratios and growth.

A benchmark calls `record(...)`; when `IPO_BENCH_SUMMARY` names a file (the runner sets it), each
record is appended to it as one JSON line. Run on its own, a benchmark prints its own report only.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

ENV = "IPO_BENCH_SUMMARY"


@dataclass(frozen=True)
class Figure:
    benchmark: str
    measure: str
    value: float
    unit: str
    baseline: float | None = None  # the bare operation measured in the same run, same unit
    baseline_name: str = ""
    goal: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None


def record(figure: Figure) -> None:
    path = os.environ.get(ENV)
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(figure)) + "\n")


def read(path: Path) -> list[Figure]:
    if not path.exists():
        return []
    return [Figure(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
