"""`make bench`: every benchmark, one after the other on its own stack, then one table of their
headline figures with the baselines measured in the same runs, the ratios and the growth from the
smallest to the largest catalogue. Each benchmark also prints its own detailed report as it goes.

    .venv/bin/python -m tests.benchmarks.all [--quick]

--quick runs everything small (1,000 and 10,000 listings, short runs): a check that the benchmarks
work, not figures to quote.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.summary import ENV, read

FULL: list[list[str]] = [
    ["tests.benchmarks.relay", "--events", "5000"],
    ["tests.benchmarks.propagation", "--rate", "200", "--seconds", "60", "--runs", "5"],
    ["tests.benchmarks.publish", "--sizes", "1000", "100000", "--publishes", "1500", "--warm-up", "3000"],
    # Latency at a given load (the goal's >= 50 publishes/s, with room), on a catalogue the API has filed
    # for a while; the run above measures the most the stack carries.
    ["tests.benchmarks.publish", "--sizes", "100000", "--publishes", "6000", "--warm-up", "3000", "--settle", "6000",
     "--rate", "60"],
    ["tests.benchmarks.search", "--listings", "100000", "--rounds", "30", "--publish", "6000"],
    ["tests.benchmarks.portal", "--listings", "100000", "--rounds", "30"],
    ["tests.benchmarks.idle", "--listings", "100000", "--seconds", "180"],
    ["tests.benchmarks.checkin", "--registrations", "5000", "--rate", "100", "--seconds", "60", "--gates", "10",
     "--feed-items", "10000"],
]
QUICK: list[list[str]] = [
    ["tests.benchmarks.relay", "--events", "500"],
    ["tests.benchmarks.propagation", "--rate", "50", "--seconds", "5"],
    ["tests.benchmarks.publish", "--sizes", "1000", "10000", "--publishes", "100"],
    ["tests.benchmarks.publish", "--sizes", "10000", "--publishes", "100", "--settle", "100", "--rate", "30"],
    ["tests.benchmarks.search", "--listings", "10000", "--rounds", "5", "--publish", "200"],
    ["tests.benchmarks.portal", "--listings", "10000", "--rounds", "5"],
    ["tests.benchmarks.idle", "--listings", "10000", "--seconds", "30", "--baseline-seconds", "15",
     "--settle-seconds", "20"],
    ["tests.benchmarks.checkin", "--registrations", "300", "--rate", "20", "--seconds", "5", "--gates", "4",
     "--feed-items", "300"],
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    summary = Path(tempfile.mkdtemp()) / "summary.jsonl"
    failed = []
    for command in plan:
        print(f"\n=== {' '.join(command)}", flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", *command], env={**os.environ, ENV: str(summary)}, check=False)
        print(f"=== {command[0]} took {time.monotonic() - started:.0f} s, exit {done.returncode}", flush=True)
        if done.returncode:
            failed.append(command[0])
    figures = read(summary)
    print(f"\nAll benchmarks, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores"
          + (" (QUICK: small sizes, not figures to quote)" if args.quick else ""))
    head = f"{'benchmark':<10} {'measure':<52} {'value':>12} {'baseline':>12} {'ratio':>8}  goal"
    print(head)
    print("-" * (len(head) + 30))
    for f in figures:
        baseline = f"{f.baseline:12.2f}" if f.baseline is not None else " " * 12
        ratio = f"{f.ratio:7.1f}x" if f.ratio is not None else " " * 8
        verdict = "" if f.met is None else ("met" if f.met else "NOT met")
        print(f"{f.benchmark:<10} {f.measure:<52} {f.value:12.2f} {baseline} {ratio}  {f.goal} {verdict}".rstrip())
    if failed:
        sys.exit(f"benchmarks that failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
