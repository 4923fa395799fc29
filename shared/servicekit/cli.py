"""Each service's command line: `python -m <service> api|worker|redrive|indexes|recount-tallies`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from servicekit.service import ServiceDefinition


def main(definition: ServiceDefinition, argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {definition.name}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("api", help="serve the HTTP API (and the outbox relay)")
    sub.add_parser("worker", help="consume events (faust worker)")
    sub.add_parser("redrive", help="re-apply the dead-letter topic's records after a fix")
    sub.add_parser("indexes", help="create the indexes the service declares, then exit (a deployment's init step)")
    sub.add_parser("recount-tallies", help="bulk job: recompute every tally from the documents (after a crash "
                   "between a change and its count, or when a tally is first introduced over existing data)")
    args = parser.parse_args(argv)
    settings = definition.settings_factory()
    # Imported late: the api does not need faust, the worker does not need uvicorn.
    if args.command == "api":
        from servicekit.app import run_api

        run_api(definition, settings)
    elif args.command == "worker":
        from servicekit.worker import run_worker

        if not definition.handlers.topics:
            # Kafka will not subscribe a consumer to nothing; a worker exists once there is work.
            sys.exit(f"{definition.name} consumes no events yet, so it has no worker process")

        sys.argv = [sys.argv[0], "worker"]  # faust's worker parses argv itself
        run_worker(definition, settings)
    elif args.command == "indexes":
        from servicekit.mongo import create_declared_indexes

        print(asyncio.run(create_declared_indexes(settings, definition.indexes)))
    elif args.command == "recount-tallies":
        from servicekit.tallies import recount_service

        print(asyncio.run(recount_service(settings, definition.tallied_aggregates)))
    elif args.command == "redrive":
        from servicekit.redrive import run_redrive

        sys.exit(run_redrive(definition, settings))
