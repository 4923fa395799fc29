"""The publish benchmark's timeline diagnostic (tests.benchmarks.timeline): which slow pairs a fold
overlapped, and the cores each process used with and without a fold."""

from __future__ import annotations

import pytest
from trading.listings import fold_trace

from tests.benchmarks.timeline import busy_cores, overlaps, slow_and_folding, slow_by_fold_step


def test_a_pair_overlaps_a_fold_only_when_their_times_meet() -> None:
    folds = [(10.0, 20.0)]
    assert overlaps(5.0, 10.5, folds) and overlaps(19.9, 30.0, folds) and overlaps(12.0, 13.0, folds)
    assert not overlaps(5.0, 10.0, folds) and not overlaps(20.0, 21.0, folds) and not overlaps(1.0, 2.0, [])


def test_slow_pairs_are_timed_from_when_they_were_due() -> None:
    # (due, sent, created, published): the second waited 0.3 s for a client, then answered quickly.
    pairs = [(0.0, 0.0, 0.02, 0.04), (1.0, 1.3, 1.32, 1.34), (30.0, 30.0, 30.1, 30.2)]
    slow, folding = slow_and_folding(pairs, [(1.2, 5.0)], 0.1)
    assert slow == [pairs[1], pairs[2]]
    assert folding == [pairs[1]]


def test_cores_are_shared_out_between_spans_with_and_without_a_fold() -> None:
    samples = [(0.0, {"api": 0.0, "store": 0.0}), (1.0, {"api": 0.5, "store": 0.25}),
               (2.0, {"api": 1.5, "store": 1.25}), (4.0, {"api": 2.5, "store": 1.25})]
    busy = busy_cores(samples, [(1.5, 1.8)])
    assert busy[True] == (1.0, {"api": 1.0, "store": 1.0})
    seconds, shares = busy[False]
    assert seconds == 3.0
    assert shares == pytest.approx({"api": 0.5, "store": 0.25 / 3})


def test_slow_pairs_are_counted_under_each_step_of_a_fold_they_met() -> None:
    def fold(at: float) -> list[tuple[float, str]]:
        return [(at, fold_trace.STARTED), (at + 0.1, fold_trace.SEGMENTS_READ), (at + 5.0, fold_trace.FILED),
                (at + 5.2, fold_trace.TAKEN_BACK), (at + 5.4, fold_trace.SEGMENTS_DELETED)]

    # A fold before the run, two in it, and one the trace cut short (no SEGMENTS_DELETED).
    steps = fold(-20.0) + fold(10.0) + fold(30.0) + [(50.0, fold_trace.STARTED), (50.1, fold_trace.SEGMENTS_READ)]
    slow = [(15.05, 15.05, 15.1, 15.15),  # while the first fold's process handed it back
            (34.9, 34.9, 35.0, 35.1),  # from the second's filing into its hand-back
            (50.05, 50.05, 50.2, 50.3)]  # in the fold cut short: counted nowhere
    spans = {s.name: s for s in slow_by_fold_step(slow, steps, begin=0.0, end=60.0)}
    assert list(spans) == [f"{fold_trace.STARTED} -> {fold_trace.SEGMENTS_READ}",
                           f"{fold_trace.SEGMENTS_READ} -> {fold_trace.FILED}",
                           f"{fold_trace.FILED} -> {fold_trace.TAKEN_BACK}",
                           f"{fold_trace.TAKEN_BACK} -> {fold_trace.SEGMENTS_DELETED}"]
    assert [s.slow_pairs for s in spans.values()] == [0, 1, 2, 0]
    assert all(s.folds == 2 for s in spans.values())
    assert spans[f"{fold_trace.SEGMENTS_READ} -> {fold_trace.FILED}"].mean_seconds == pytest.approx(4.9)
