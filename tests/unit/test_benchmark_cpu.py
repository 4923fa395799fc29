"""The benchmarks' CPU watch counts a process's children with it (the trading API's segment folder works
in a child process, trading.listings.fold_process), but never the benchmark's own children (the stack)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.benchmarks.cpu import cpu_seconds

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
