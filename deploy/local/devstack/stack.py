"""The local stack as a whole: start in dependency order, wait for health, stop in reverse."""

from __future__ import annotations

from collections.abc import Iterable

from devstack.components import (
    console,
    ferretdb_process,
    kafka_process,
    keycloak_process,
    prometheus_process,
    roles_of,
    service_process,
)
from devstack.layout import SERVICES, Profile
from devstack.processes import ManagedProcess


class Stack:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.started: list[ManagedProcess] = []

    def start(self, proc: ManagedProcess, timeout: float = 90) -> ManagedProcess:
        if proc.running():
            # Left over from an interrupted run of this same profile: ours to stop by its pid file.
            console.print(f"[yellow]stopping leftover {proc.name} (pid {proc.pid})[/]")
            proc.stop()
        proc.start()
        self.started.append(proc)
        proc.wait_healthy(timeout)
        console.print(f"[green]✓[/] {proc.name} ready (pid {proc.pid})")
        return proc

    def start_infrastructure(self) -> None:
        # Build/download everything first so that start-up timeouts only measure start-up.
        kafka, ferretdb = kafka_process(self.profile), ferretdb_process(self.profile)
        self.start(ferretdb, timeout=30)
        self.start(kafka, timeout=120)

    def start_services(self, services: Iterable[str] = SERVICES) -> None:
        procs = [service_process(self.profile, s, role) for s in services for role in roles_of(s)]
        for proc in procs:
            proc.start()
            self.started.append(proc)
        for proc in procs:
            proc.wait_healthy(120)
            console.print(f"[green]✓[/] {proc.name} ready (pid {proc.pid})")

    def start_keycloak(self) -> ManagedProcess:
        # Its first start builds (about a minute on two cores); later ones take seconds.
        return self.start(keycloak_process(self.profile), timeout=300)

    def start_prometheus(self) -> None:
        self.start(prometheus_process(self.profile), timeout=60)

    def stop(self) -> None:
        for proc in reversed(self.started):
            proc.stop()
        self.started.clear()

    def stop_all_known(self) -> None:
        """Stop whatever the pid files of this profile name, even from another invocation."""
        names = [f"{s}-{r}" for s in SERVICES for r in ("api", "worker")]
        names += ["portal", "prometheus", "keycloak", "kafka", "ferretdb"]
        for name in names:
            ManagedProcess(name, [], self.profile.pid_dir, self.profile.log_dir).stop()
