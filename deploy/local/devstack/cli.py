"""`devstack`: the local stack's command line (used by `make run` and `make test`)."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from rich.table import Table

from devstack.components import console, ensure_ferretdb, ensure_kafka, ensure_prometheus, roles_of
from devstack.layout import SERVICES, profile
from devstack.stack import Stack


def _run(profile_name: str) -> None:
    stack = Stack(profile(profile_name))
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start_infrastructure()
        stack.start_services()
        stack.start_prometheus()
        _print_urls(profile_name)
        console.print("[bold]Everything is up.[/] Press Ctrl-C to stop.")
        while not stopping.wait(1):
            for proc in stack.started:
                if not proc.running():
                    console.print(f"[red]{proc.name} exited[/]; see {proc.log_file}\n{proc.tail(15)}")
                    stopping.set()
    finally:
        console.print("stopping…")
        stack.stop()
        console.print("[green]stopped[/]")


def _print_urls(profile_name: str) -> None:
    p = profile(profile_name)
    table = Table(title=f"Local stack ({profile_name} profile)")
    table.add_column("what")
    table.add_column("where")
    for service in SERVICES:
        api = f"http://127.0.0.1:{p.ports.api(service)}"
        table.add_row(f"{service} API docs", f"{api}/docs")
        table.add_row(f"{service} API metrics", f"{api}/metrics")
        if "worker" in roles_of(service):
            table.add_row(f"{service} worker metrics", f"http://127.0.0.1:{p.ports.worker(service)}/metrics")
        else:
            table.add_row(f"{service} worker", "none yet: consumes no events")
    table.add_row("Prometheus", f"http://127.0.0.1:{p.ports.prometheus}")
    table.add_row("Kafka bootstrap", p.kafka_bootstrap)
    table.add_row("MongoDB protocol (FerretDB)", p.mongo_url)
    table.add_row("logs", str(p.log_dir))
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="download and build Kafka, FerretDB and Prometheus if missing")
    run = sub.add_parser("run", help="start the whole platform; Ctrl-C stops it")
    run.add_argument("--profile", default="run")
    down = sub.add_parser("down", help="stop every process a profile's pid files name")
    down.add_argument("--profile", default="run")
    args = parser.parse_args()

    if args.command == "install":
        ensure_kafka()
        ensure_ferretdb()
        ensure_prometheus()
    elif args.command == "run":
        _run(args.profile)
    elif args.command == "down":
        Stack(profile(args.profile)).stop_all_known()


if __name__ == "__main__":
    main()
