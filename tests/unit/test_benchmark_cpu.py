"""The benchmarks' CPU watch counts a process's children with it (the trading API's segment folder works
in a child process, trading.listings.fold_process), but never the benchmark's own children (the stack)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from devstack.layout import LOCAL_DIR

from tests.benchmarks.cpu import STALL_RESOURCES, CpuWatch, cpu_seconds, disk_written_bytes

# A parent that only waits, with a child that spends about 0.3 s of CPU and then waits too.
PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", '''
import sys, time
end = time.process_time() + 0.3
while time.process_time() < end:
    pass
import os
print(os.getpid(), flush=True)
time.sleep(30)
'''], stdout=sys.stdout)
child.wait()
"""


def test_a_process_s_cpu_includes_its_live_children_but_the_benchmark_s_own_does_not() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())  # once it has spent its CPU
        with_child = cpu_seconds(parent.pid)
        own_fields = Path(f"/proc/{parent.pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = (int(own_fields[11]) + int(own_fields[12])) / os.sysconf("SC_CLK_TCK")
        assert with_child - own >= 0.25, "the child's 0.3 s counted with its parent"
        # The benchmark's own process: its children (the parent above, with its child's 0.3 s) are not counted.
        assert cpu_seconds(os.getpid()) <= time.process_time() + 0.05
    finally:
        if child:
            os.kill(child, signal.SIGKILL)
        parent.kill()
        parent.wait()


def test_the_disks_written_counts_a_file_synced_to_the_project_s_disk() -> None:
    # The project's own folder, not the temporary one: that may be a RAM file system, which is no disk.
    folder = LOCAL_DIR / "test"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"disk-write-probe-{os.getpid()}"
    before = disk_written_bytes()
    try:
        with path.open("wb") as out:
            out.write(os.urandom(4 << 20))
            out.flush()
            os.fsync(out.fileno())
        assert disk_written_bytes() - before >= 4 << 20
    finally:
        path.unlink(missing_ok=True)


def test_the_watch_says_what_held_a_run_up_inside_the_machine() -> None:
    watch = CpuWatch({"benchmark client": os.getpid()})
    end = time.process_time() + 0.1
    while time.process_time() < end:
        pass
    line = watch.stop().line(1)
    for resource in STALL_RESOURCES:
        stalled = watch.stalled[resource]
        # None only where the kernel keeps no pressure information; then the line says so.
        assert stalled is None or 0 <= stalled <= watch.wall + 0.01
    assert "waiting for a core" in line and "waiting for the disk" in line and "disks written" in line
