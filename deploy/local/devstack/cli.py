"""`devstack`: the local stack's command line (used by `make run` and `make test`)."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from rich.table import Table

from devstack.components import (
    console,
    demo_users,
    ensure_browser,
    ensure_ferretdb,
    ensure_kafka,
    ensure_keycloak,
    ensure_portal_assets,
    ensure_prometheus,
    keycloak_process,
    keycloak_token,
    portal_process,
    roles_of,
)
from devstack.layout import SERVICES, profile
from devstack.stack import Stack


def _run(profile_name: str, with_demo: bool = True) -> None:
    stack = Stack(profile(profile_name))
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        # Keycloak starts first and is waited for last: its minute of start-up overlaps the rest.
        keycloak = keycloak_process(stack.profile)
        if keycloak.running():
            keycloak.stop()
        keycloak.start()
        stack.started.append(keycloak)
        stack.start_infrastructure()
        stack.start_services()
        stack.start_prometheus()
        keycloak.wait_healthy(300)
        console.print(f"[green]✓[/] keycloak ready (pid {keycloak.pid})")
        stack.start(portal_process(stack.profile), timeout=60)
        if with_demo:
            # Imported here: the dataset module imports the services' packages (identifiers).
            from devstack import demo

            demo.load(stack.profile, report=console.print)
        _print_urls(profile_name)
        _print_demo_users(profile_name)
        console.print(f"[bold]Everything is up.[/] The portal: [bold]{stack.profile.portal_url}[/] (sign in as a demo "
                      "user above). Press Ctrl-C to stop.")
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
    table.add_row("Portal (demo sign-ins below)", p.portal_url)
    table.add_row("Keycloak admin console", f"{p.keycloak_url}/admin/master/console/#/ipo  (user admin, "
                  f"password in {p.data_dir / 'keycloak-admin-password'})")
    table.add_row("Prometheus", f"http://127.0.0.1:{p.ports.prometheus}")
    table.add_row("Kafka bootstrap", p.kafka_bootstrap)
    table.add_row("MongoDB protocol (FerretDB)", p.mongo_url)
    table.add_row("logs", str(p.log_dir))
    console.print(table)


def _print_demo_users(profile_name: str) -> None:
    table = Table(title="Demo sign-ins (development realm only)")
    for column in ("user", "password", "role", "organisation"):
        table.add_column(column)
    for user in demo_users():
        table.add_row(user["username"], user["password"], user["role"], user["org"] or "-")
    console.print(table)
    console.print(f"A token for the APIs: [bold].venv/bin/python -m devstack.cli token demo-participant-a"
                  f" --profile {profile_name}[/]")


def main() -> None:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="download and build Kafka, FerretDB and Prometheus if missing")
    run = sub.add_parser("run", help="start the whole platform; Ctrl-C stops it")
    run.add_argument("--profile", default="run")
    run.add_argument("--no-demo", action="store_true", help="do not load the demo dataset")
    load_demo = sub.add_parser("demo", help="load the demo dataset into a running stack (idempotent)")
    load_demo.add_argument("--profile", default="run")
    load_demo.add_argument("--listings", type=int, default=240)
    down = sub.add_parser("down", help="stop every process a profile's pid files name")
    down.add_argument("--profile", default="run")
    token = sub.add_parser("token", help="print a real access token (from the running Keycloak) for a demo user")
    token.add_argument("username", help="e.g. demo-participant-a (see `make run`'s list)")
    token.add_argument("--password", default=None, help="defaults to the demo user's")
    token.add_argument("--profile", default="run")
    args = parser.parse_args()

    if args.command == "install":
        ensure_kafka()
        ensure_ferretdb()
        ensure_prometheus()
        ensure_keycloak()
        ensure_portal_assets()
        ensure_browser()
    elif args.command == "token":
        print(keycloak_token(profile(args.profile), args.username, args.password))
    elif args.command == "run":
        _run(args.profile, with_demo=not args.no_demo)
    elif args.command == "demo":
        from devstack import demo

        demo.load(profile(args.profile), listings=args.listings, report=console.print)
    elif args.command == "down":
        Stack(profile(args.profile)).stop_all_known()


if __name__ == "__main__":
    main()
