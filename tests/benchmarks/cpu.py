"""CPU time of local processes, from /proc (Linux), for benchmarks that say where the cores went."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from devstack.processes import ManagedProcess

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, its threads included, and its children's: the trading
    API does its segment folder's work in a child process (trading.listings.fold_process), and that work
    is the API's. Children that ended count through their parent's share of them (`cutime`, `cstime`).
    Not the benchmark's own process: its children are the stack, each counted on its own."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / TICKS
    if pid == os.getpid():
        return own
    return own + (int(fields[13]) + int(fields[14])) / TICKS + sum(_child_seconds(c) for c in _children(pid))


def _children(pid: int) -> list[int]:
    """The children its main thread started (the API's folder process is one: the event loop's thread
    starts it). Not every thread's: Kafka's broker runs some 110 threads, and the publish benchmark's
    timeline reads every process's CPU twice a second from the client, which shares the cores."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # it ended meanwhile
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def _child_seconds(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except (FileNotFoundError, ProcessLookupError):  # it ended between the listing and the reading
        return 0.0


def wakeups(pid: int) -> int:
    """Times a process's threads went to sleep waiting for something (voluntary context switches, summed
    over its threads; a thread that ended is no longer counted). Per second of an idle process, it counts
    its timers and polls: unlike its CPU time, it does not move with how fast the host runs."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def stolen_seconds() -> float:
    """CPU time the hypervisor gave to others while this machine's cores wanted it ("steal", summed
    over the cores, /proc/stat). A run with much of it was disturbed from outside: compare its floors."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return int(fields[8]) / TICKS


# The pressure stall resources the watch reads, with what a task waiting on each waits for.
STALL_RESOURCES = {"cpu": "a core", "io": "the disk"}


def stalled_seconds(resource: str) -> float | None:
    """Wall time during which some task waited for `resource` (`cpu` or `io`: Linux's pressure stall
    information, "some" total, /proc/pressure), or None where the kernel does not keep it. Unlike steal,
    it sees a run held up inside the machine: a slow disk's writes or more runnable work than cores."""
    try:
        line = Path(f"/proc/pressure/{resource}").read_text().splitlines()[0]
    except OSError:
        return None
    return int(line.rsplit("total=", 1)[1]) / 1e6


def disk_written_bytes() -> int:
    """Bytes written to the machine's disks so far (/proc/diskstats, whole devices only: a partition's
    writes are its disk's too; loop and RAM devices are not disks)."""
    disks = {d.name for d in Path("/sys/block").iterdir() if not d.name.startswith(("loop", "ram", "zram"))}
    total = 0
    for line in Path("/proc/diskstats").read_text().splitlines():
        fields = line.split()
        if fields[2] in disks:
            total += int(fields[9]) * 512  # sectors written, always of 512 bytes here
    return total


def taking_part(processes: Iterable[ManagedProcess]) -> dict[str, int]:
    """The pids of the stack's processes a benchmark drives, and its own (the client shares the cores)."""
    pids = {proc.name: proc.pid for proc in processes if proc.pid}
    pids["benchmark client"] = os.getpid()
    return pids


class CpuWatch:
    """The CPU each process used from its creation to `stop()`, and the wall time between."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self.started = time.monotonic()
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.stolen_before = stolen_seconds()
        self.stalls_before = {resource: stalled_seconds(resource) for resource in STALL_RESOURCES}
        self.written_before = disk_written_bytes()
        self.used: dict[str, float] = {}
        self.stolen = 0.0
        self.stalled: dict[str, float | None] = {}
        self.written = 0
        self.wall = 0.0

    def stop(self) -> CpuWatch:
        self.wall = time.monotonic() - self.started
        self.used = {name: cpu_seconds(pid) - self.before[name] for name, pid in self.pids.items()}
        self.stolen = stolen_seconds() - self.stolen_before
        for resource, before in self.stalls_before.items():
            after = stalled_seconds(resource)
            self.stalled[resource] = None if before is None or after is None else after - before
        self.written = disk_written_bytes() - self.written_before
        return self

    def steal_line(self) -> str:
        """Steal, then what held the run up inside the machine: a run slow with its CPU per operation as
        usual shows it here (tasks waiting for a core or for the disk, the disk's write rate)."""
        wall = max(self.wall, 1e-9)
        waits = ", ".join(f"waiting for {STALL_RESOURCES[resource]} "
                          + ("n/a" if stalled is None else f"{stalled / wall:.0%}")
                          for resource, stalled in self.stalled.items())
        return (f"time stolen by the host: {self.stolen / wall / (os.cpu_count() or 1):.0%} "
                f"of the {os.cpu_count()} cores over {self.wall:.0f} s; some task {waits} of the time; "
                f"disks written {self.written / wall / 1e6:.1f} MB/s")

    def line(self, operations: int) -> str:
        """Each process's share of one core and CPU per operation, busiest first, and the total:
        `ferretdb 93% (33.9 ms), ...; together 1.67 of 2 cores over 38 s`."""
        wall, count = max(self.wall, 1e-9), max(operations, 1)
        shares = ", ".join(f"{name} {used / wall:.0%} ({used / count * 1000:.1f} ms)"
                           for name, used in sorted(self.used.items(), key=lambda kv: -kv[1]))
        return (f"{shares}; together {sum(self.used.values()) / wall:.2f} of {os.cpu_count()} cores "
                f"over {self.wall:.0f} s; {self.steal_line()}")
