"""Where the slow pairs of a publish benchmark run were made: a diagnostic over its `--timeline` file.

    .venv/bin/python -m tests.benchmarks.publish --sizes 100000 --rate 60 ... --timeline /tmp/run.json
    .venv/bin/python -m tests.benchmarks.timeline /tmp/run.json

Splits each create + publish (timed from when it was due, as the benchmark times it) into the wait for
a free client (rate mode only), the create's answer and the publish's answer, and says which share of
the slow pairs overlapped a run of the API's segment folder, against the share of the time the folder
ran. A queue that forms behind the clients shows as waits; a store or process that stalls every request
at once shows as a second in which every pair was slow.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from tests.benchmarks.search import percentiles

Pair = tuple[float, float, float, float]  # due, sent, created, published (Unix seconds)
Span = tuple[float, float]  # a fold's start and end
Sample = tuple[float, dict[str, float]]  # when, and each process's CPU seconds so far


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
