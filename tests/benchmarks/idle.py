"""Benchmark (not a test): what the platform costs when nobody uses it, with a large catalogue.

Starts its own stack, bulk-loads `--listings` published listings (as the search benchmark does),
then measures the CPU time that FerretDB and every service process (each API and worker) use over
`--seconds` of no traffic at all, from /proc, side by side with a baseline measured in the same run:
FerretDB alone with the same data and no service running. It also prints each background task's
runs and mean duration from the processes' own metrics, so a task whose cost grows with the data shows.

Goal (issue 10): FerretDB and every service process together average < 5% of one core over 3 minutes.

    .venv/bin/python -m tests.benchmarks.idle [--listings 100000] [--seconds 180] [--profile bench2]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import httpx
from devstack.components import roles_of
from devstack.layout import SERVICES, Profile, profile
from devstack.processes import ManagedProcess

from tests.benchmarks.cpu import CpuWatch, wakeups
from tests.benchmarks.publish import prepare
from tests.benchmarks.summary import Figure, record
from tests.support.stack import fresh_infrastructure, start_service


@dataclass
class Idle:
    """What the processes did over the measured seconds: each one's share of one core and its wake-ups
    per second, and the CPU watch (for the host's steal)."""

    shares: dict[str, float]
    wakeups: dict[str, float]
    watch: CpuWatch


def measure(pids: dict[str, int], seconds: float) -> Idle:
    """Idle shares are small, so two things beside them say whether a run was disturbed: the host's
    steal, and each process's wake-ups per second (its timers and polls), which do not move with the
    host's speed the way CPU time does (runs of one code here have differed by a fifth in CPU at 0%
    steal)."""
    wakeups_before = {name: wakeups(pid) for name, pid in pids.items()}
    watch = CpuWatch(pids)
    time.sleep(seconds)
    watch.stop()
    wall = max(watch.wall, 1e-9)
    return Idle(shares={name: used / wall for name, used in watch.used.items()},
                wakeups={name: (wakeups(pid) - wakeups_before[name]) / wall for name, pid in pids.items()},
                watch=watch)


def background_runs(p: Profile, processes: dict[str, ManagedProcess]) -> list[str]:
    lines = []
    for name in processes:
        service, role = name.rsplit("-", 1)
        port = p.ports.api(service) if role == "api" else p.ports.worker(service)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
        counts: dict[str, float] = {}
        sums: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith(f"{service}_background_run_duration_seconds_count{{"):
                counts[line.split('task="')[1].split('"')[0]] = float(line.split()[-1])
            elif line.startswith(f"{service}_background_run_duration_seconds_sum{{"):
                sums[line.split('task="')[1].split('"')[0]] = float(line.split()[-1])
        for task, count in sorted(counts.items()):
            mean = sums.get(task, 0.0) / count * 1000 if count else 0.0
            lines.append(f"  {service} {task:<20} runs {count:5.0f}   mean {mean:8.1f} ms")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--baseline-seconds", type=float, default=60.0)
    parser.add_argument("--settle-seconds", type=float, default=60.0,
                        help="after the services start, before measuring (their start-up work)")
    parser.add_argument("--profile", default="bench2")
    args = parser.parse_args()
    p = profile(args.profile)
    stack = fresh_infrastructure(p)
    processes: dict[str, ManagedProcess] = {}
    try:
        prepare(p, args.listings)
        ferretdb = next(proc.pid for proc in stack.started if proc.name == "ferretdb")
        assert ferretdb is not None
        time.sleep(5)
        baseline = measure({"ferretdb": ferretdb}, args.baseline_seconds).shares
        for service in SERVICES:
            for role in roles_of(service):
                processes[f"{service}-{role}"] = start_service(p, service, role)
        time.sleep(args.settle_seconds)
        pids = {"ferretdb": ferretdb, **{name: proc.pid for name, proc in processes.items() if proc.pid}}
        measured = measure(pids, args.seconds)
        idle = measured.shares
        print(f"\nIdle platform with {args.listings} published listings, {time.strftime('%Y-%m-%d')}, "
              f"{os.cpu_count()} cores; share of one core over {args.seconds:.0f} s without traffic")
        print(f"baseline: FerretDB alone, same data, no services ({args.baseline_seconds:.0f} s): "
              f"{baseline['ferretdb'] * 100:6.2f}%")
        for name, share in sorted(idle.items(), key=lambda item: -item[1]):
            print(f"  {name:<18} {share * 100:6.2f}%   {measured.wakeups[name]:6.1f} wake-ups/s")
        total = sum(idle.values())
        print(f"total (FerretDB + {len(idle) - 1} service processes): {total * 100:6.2f}%  "
              f"(x{total / max(baseline['ferretdb'], 1e-4):.1f} the idle store alone)")
        print(f"wake-ups of all of them: {sum(measured.wakeups.values()):.1f}/s; {measured.watch.steal_line()}")
        print("background tasks (from each process's metrics, since its start):")
        print("\n".join(background_runs(p, processes)))
        print(f"goal total < 5% of one core: {'met' if total < 0.05 else 'NOT met'}")
        record(Figure("idle", f"CPU share of one core, idle, {args.listings} listings", total * 100, "%",
                      baseline["ferretdb"] * 100, "FerretDB alone", "< 5%", total < 0.05))
    finally:
        for proc in processes.values():
            proc.stop()
        stack.stop()


if __name__ == "__main__":
    main()
