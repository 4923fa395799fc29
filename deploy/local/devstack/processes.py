"""Start, health-check and stop local processes by pid.

Every process gets a pid file and a log file under the profile's data directory. Stopping sends
SIGTERM to that pid only (and SIGKILL after a grace period): nothing else on the machine is touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HealthCheck = Callable[[], bool]


class StartupError(RuntimeError):
    pass


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str) -> HealthCheck:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    return check


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is dead for our purposes.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    pid_dir: Path
    log_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    health: HealthCheck | None = None
    _popen: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def pid_file(self) -> Path:
        return self.pid_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.pid
        return pid is not None and pid_alive(pid)

    def start(self) -> None:
        if self.running():
            raise StartupError(f"{self.name} already runs as pid {self.pid}; stop it first")
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        env = {**os.environ, **self.env}
        # A new session keeps Ctrl-C in the terminal from reaching children directly: the stack
        # stops them in order instead.
        self._popen = subprocess.Popen(
            list(self.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self.cwd,
            start_new_session=True,
        )
        log.close()
        self.pid_file.write_text(str(self._popen.pid))

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise StartupError(f"{self.name} exited during start-up; see {self.log_file}:\n{self.tail()}")
            if self.health is None or self.health():
                return
            time.sleep(0.2)
        raise StartupError(f"{self.name} not healthy after {timeout:.0f}s; see {self.log_file}:\n{self.tail()}")

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def signal(self, sig: signal.Signals) -> None:
        pid = self.pid
        if pid is not None and pid_alive(pid):
            os.kill(pid, sig)

    def kill(self) -> None:
        """SIGKILL, for fault tests: no chance to flush or clean up."""
        self.signal(signal.SIGKILL)
        self._reap(5)
        self.pid_file.unlink(missing_ok=True)

    def stop(self, grace: float = 15) -> None:
        pid = self.pid
        if pid is None:
            return
        if pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            if not self._reap(grace):
                os.kill(pid, signal.SIGKILL)
                self._reap(5)
        self.pid_file.unlink(missing_ok=True)

    def _reap(self, timeout: float) -> bool:
        pid = self.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._popen is not None and self._popen.poll() is not None:
                return True
            if pid is None or not pid_alive(pid):
                return True
            time.sleep(0.1)
        return False
