"""Where the slow pairs of a publish benchmark run were made: a diagnostic over its `--timeline` file.

    .venv/bin/python -m tests.benchmarks.publish --sizes 100000 --rate 60 ... --timeline /tmp/run.json
    .venv/bin/python -m tests.benchmarks.timeline /tmp/run.json

Splits each create + publish (timed from when it was due, as the benchmark times it) into the wait for
a free client (rate mode only), the create's answer and the publish's answer, and says which share of
the slow pairs overlapped a run of the API's segment folder, against the share of the time the folder
ran. A queue that forms behind the clients shows as waits; a store or process that stalls every request
at once shows as a second in which every pair was slow. When the file holds the folds' steps (the API's
`search_fold_trace_file`, set by the benchmark with `--timeline`; trading.listings.fold_trace), it also
counts the slow pairs in flight during each step of the folds.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from trading.listings import fold_trace

from tests.benchmarks.search import percentiles

Pair = tuple[float, float, float, float]  # due, sent, created, published (Unix seconds)
Span = tuple[float, float]  # a fold's start and end
Sample = tuple[float, dict[str, float]]  # when, and each process's CPU seconds so far
Step = tuple[float, str]  # when a fold reached a step (fold_trace), and the step


def overlaps(start: float, end: float, runs: list[Span]) -> bool:
    return any(s < end and start < e for s, e in runs)


def slow_and_folding(pairs: list[Pair], folds: list[Span], slow_seconds: float) -> tuple[list[Pair], list[Pair]]:
    """The pairs slower than `slow_seconds` from when they were due, and those of them a fold overlapped."""
    slow = [p for p in pairs if p[3] - p[0] > slow_seconds]
    return slow, [p for p in slow if overlaps(p[0], p[3], folds)]


def busy_cores(samples: list[Sample], folds: list[Span]) -> dict[bool, tuple[float, dict[str, float]]]:
    """Each process's share of a core between successive samples, summed separately over the spans that
    overlapped a fold (True) and those that did not (False): {folding: (seconds, {process: share})}."""
    used: dict[bool, dict[str, float]] = {True: {}, False: {}}
    lengths = {True: 0.0, False: 0.0}
    for (t0, before), (t1, after) in itertools.pairwise(samples):
        folding = overlaps(t0, t1, folds)
        lengths[folding] += t1 - t0
        for name in after:
            used[folding][name] = used[folding].get(name, 0.0) + after[name] - before.get(name, 0.0)
    return {folding: (lengths[folding], {name: cpu / lengths[folding] for name, cpu in used[folding].items()})
            for folding in (True, False) if lengths[folding]}


@dataclass
class StepSpan:
    """One stretch of the folds, from a step to the next (`name`: "<step> -> <next step>"): the folds that
    went through it in the run, their mean time in it, and the slow pairs in flight during it."""

    name: str
    folds: int
    mean_seconds: float
    slow_pairs: int


def slow_by_fold_step(slow: list[Pair], steps: list[Step], begin: float, end: float) -> list[StepSpan]:
    """For each stretch between successive steps of the folds that began in [begin, end] (a fold runs from
    STARTED to SEGMENTS_DELETED; a fold cut short by the trace's end is left out), the slow pairs whose
    time from due to answered overlapped it, in the order of the steps. A pair counts under every
    stretch it overlapped."""
    folds: list[list[Step]] = []
    current: list[Step] | None = None
    for at, name in sorted(steps):
        if name == fold_trace.STARTED:
            current = [(at, name)]
        elif current is not None:
            current.append((at, name))
            if name == fold_trace.SEGMENTS_DELETED:
                if begin <= current[0][0] <= end:
                    folds.append(current)
                current = None
    spans: dict[tuple[str, str], list[Span]] = {}
    for fold in folds:
        for (t0, first), (t1, then) in itertools.pairwise(fold):
            spans.setdefault((first, then), []).append((t0, t1))
    order = {name: i for i, name in enumerate(fold_trace.STEPS)}
    return [StepSpan(f"{first} -> {then}", len(runs), sum(e - s for s, e in runs) / len(runs),
                     sum(1 for p in slow if overlaps(p[0], p[3], runs)))
            for (first, then), runs in sorted(spans.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("timeline", type=Path)
    parser.add_argument("--slow-ms", type=float, default=100.0, help="a pair slower than this is slow")
    parser.add_argument("--worst", type=int, default=10, help="how many of the worst seconds to list")
    args = parser.parse_args()
    data = json.loads(args.timeline.read_text())
    pairs = [(float(d), float(s), float(c), float(p)) for d, s, c, p in data["pairs"]]
    folds = [(float(s), float(e)) for s, e in data["folds"]]
    if not pairs:
        raise SystemExit(f"{args.timeline}: no pairs")
    begin, end = min(p[0] for p in pairs), max(p[3] for p in pairs)

    parts = {"wait for a client": [(s - d) * 1000 for d, s, _, _ in pairs],
             "create answered": [(c - s) * 1000 for _, s, c, _ in pairs],
             "publish answered": [(p - c) * 1000 for _, _, c, p in pairs],
             "both, from due": [(p - d) * 1000 for d, _, _, p in pairs]}
    print(f"{len(pairs)} pairs over {end - begin:.1f} s at {data['size']} listings")
    for name, values in parts.items():
        q = percentiles(values)
        p50, p95, p99 = q["p50"], q["p95"], q["p99"]
        print(f"  {name:<18} p50 {p50:8.1f}  p95 {p95:8.1f}  p99 {p99:8.1f} ms")

    folding = sum(min(e, end) - max(s, begin) for s, e in folds if e > begin and s < end)
    slow, during = slow_and_folding(pairs, folds, args.slow_ms / 1000)
    all_during = [p for p in pairs if overlaps(p[0], p[3], folds)]
    print(f"folder's finished runs: {len(folds)}, running {folding:.1f} s of the {end - begin:.1f} s "
          f"({100 * folding / (end - begin):.0f}%)")
    print(f"pairs over {args.slow_ms:.0f} ms: {len(slow)} ({100 * len(slow) / len(pairs):.1f}%), "
          f"{len(during)} of them overlapping a fold ({100 * len(during) / max(len(slow), 1):.0f}%); "
          f"of all pairs {100 * len(all_during) / len(pairs):.0f}% overlapped one")
    if slow:
        for name, values in {"wait for a client": [(s - d) * 1000 for d, s, _, _ in slow],
                             "create answered": [(c - s) * 1000 for _, s, c, _ in slow],
                             "publish answered": [(p - c) * 1000 for _, _, c, p in slow]}.items():
            print(f"  slow pairs' {name:<18} mean {sum(values) / len(values):8.1f} ms")

    steps = [(float(at), str(name)) for at, name in data.get("fold_steps", [])]
    if steps:
        spans = slow_by_fold_step(slow, steps, begin, end)
        print(f"slow pairs in flight during each step of the folds that began in the run "
              f"({max((s.folds for s in spans), default=0)} folds; a pair counts under each step it met):")
        for span in spans:
            print(f"  {span.name:<40} mean {span.mean_seconds * 1000:8.1f} ms  in {span.folds:2d} folds  "
                  f"slow pairs {span.slow_pairs}")

    # Each process's share of a core while a fold ran and while none did, from the half-second samples.
    samples = [(float(t), {k: float(v) for k, v in used.items()}) for t, used in data.get("cpu", [])]
    for folding_then, (seconds_then, shares) in busy_cores(samples, folds).items():
        print(f"cores busy {'while a fold ran' if folding_then else 'with no fold':<17} "
              f"({seconds_then:5.1f} s): {sum(shares.values()):.2f} in all; "
              + ", ".join(f"{name} {share:.2f}" for name, share in sorted(shares.items(), key=lambda kv: -kv[1])))

    # The worst seconds by their slowest pair (by when it was due), with what ran then.
    seconds: dict[int, list[Pair]] = {}
    for pair in pairs:
        seconds.setdefault(int(pair[0] - begin), []).append(pair)
    worst = sorted(seconds.items(), key=lambda kv: -max(p[3] - p[0] for p in kv[1]))[:args.worst]
    print(f"the {len(worst)} worst seconds (from the first pair due): pairs, slowest from due, mean wait, "
          "mean create, mean publish, a fold running")
    for second, in_it in sorted(worst):
        n = len(in_it)
        print(f"  {second:4d} s  {n:3d}  {max(p[3] - p[0] for p in in_it) * 1000:8.1f}"
              f"  {sum(p[1] - p[0] for p in in_it) / n * 1000:8.1f}"
              f"  {sum(p[2] - p[1] for p in in_it) / n * 1000:8.1f}"
              f"  {sum(p[3] - p[2] for p in in_it) / n * 1000:8.1f}"
              f"  {'yes' if overlaps(begin + second, begin + second + 1, folds) else 'no'}")


if __name__ == "__main__":
    main()
