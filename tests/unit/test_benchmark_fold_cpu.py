"""The fold CPU benchmark (tests/benchmarks/fold_cpu.py) runs the folder's entry point on a small
catalogue: its table has a row per point reached, and the documents it files are the same from one run
to the next (its digest is what two commits are compared by)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from trading.listings import search_store

from tests.benchmarks import fold_cpu
from tests.unit.trading_catalogue.fake_postings import fresh_search_state


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from fresh_search_state(monkeypatch)


def test_a_small_run_prints_its_points_and_files_the_same_documents_twice(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_store, "CARRY_BELOW", 8)  # the service's default: rare terms wait
    fold_cpu.run(listings=3000, fold=1000, batch=100)
    first = capsys.readouterr().out
    points = [line.split("|")[0].strip() for line in first.splitlines()]
    assert [p for p in points if p.isdigit()] == ["1000", "3000"]
    assert "all 3 folds" in first
    assert fold_cpu.carried_postings(max(search_store._segments)) > 0, "rare terms wait in the carry"
    fold_cpu.run(listings=3000, fold=1000, batch=100)
    again = capsys.readouterr().out
    assert first.rsplit("store digest", 1)[1] == again.rsplit("store digest", 1)[1]
