"""The publish benchmark judges issue 10's p95 goal only at a stated load (`--rate`): as fast as the
clients go, the stack is saturated and its p95 is printed and recorded as a capacity figure, with no
verdict, while the throughput and growth goals keep theirs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks.publish import SATURATED, SizeResult, report
from tests.benchmarks.summary import ENV


def run_of(size: int, pair_seconds: float, pairs: int = 100, elapsed: float = 1.0) -> SizeResult:
    result = SizeResult(size=size, elapsed=elapsed)
    result.create = [pair_seconds / 2] * pairs
    result.publish = [pair_seconds / 2] * pairs
    result.both = [pair_seconds] * pairs
    result.visible = [0.2] * pairs
    result.bare_insert = [0.002] * pairs
    result.bare_read = [0.001] * pairs
    return result


def recorded(path: Path) -> dict[str, dict[str, object]]:
    figures = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return {figure["measure"]: figure for figure in figures}


def test_a_saturated_run_records_its_p95_without_a_verdict(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    summary = tmp_path / "figures.jsonl"
    monkeypatch.setenv(ENV, str(summary))
    report([run_of(1_000, 0.110), run_of(100_000, 0.120)], concurrency=8, text="varied")
    figures = recorded(summary)
    p95 = figures["create+publish p95 ms at 100000, as fast as 8 clients go"]
    assert p95["met"] is None and p95["goal"] == SATURATED
    assert figures["publishes/s at 100000 (concurrency 8)"]["met"] is True
    printed = capsys.readouterr().out
    assert "create + publish p95 < 100 ms" not in printed
    assert "at 100000: create + publish p95 120.0 ms as fast as 8 clients go, at 100.0 pairs/s" in printed
    assert "goal at 100000: publish p50 growth <= 1.5: met" in printed


@pytest.mark.parametrize(("pair_seconds", "verdict"), [(0.050, "met"), (0.150, "NOT met")])
def test_a_run_at_a_stated_load_judges_the_p95_goal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        pair_seconds: float, verdict: str) -> None:
    summary = tmp_path / "figures.jsonl"
    monkeypatch.setenv(ENV, str(summary))
    report([run_of(100_000, pair_seconds, pairs=120, elapsed=2.0)], concurrency=8, text="varied", rate=60)
    p95 = recorded(summary)["create+publish p95 ms at 100000, offered 60/s"]
    assert p95["goal"] == "< 100 ms" and p95["met"] is (verdict == "met")
    assert f"goal at 100000, offered 60/s: create + publish p95 < 100 ms: {verdict}\n" in capsys.readouterr().out
