"""`python -m trading import-listings FILE`: upload a CSV of listings to the trading API in chunks,
with a progress bar, and print the report (row, column, reason for every bad row).

It talks to the API rather than to the database, so the API stays the one process that writes
listings and their search postings. Chunks repeat the header and say which file row they start at,
so the report's row numbers are the file's.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

DEFAULT_API = os.environ.get("TRADING_API_URL", "http://127.0.0.1:8102")


def chunks(text: str, size: int) -> list[tuple[int, str, int]]:
    """(first row number, CSV text with header, data rows) per chunk of `size` data rows. Records are
    split by the csv module, so a quoted cell with a line break stays in one piece."""
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not records:
        return []
    header, body = records[0], records[1:]
    out = []
    for start in range(0, len(body), size):
        part = body[start:start + size]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([header, *part])
        out.append((start + 2, buffer.getvalue(), len(part)))
    return out


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m trading import-listings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="CSV file, UTF-8, header row first")
    parser.add_argument("--owner", help="owner organisation (credit code) of rows without owner_organisation_id")
    parser.add_argument("--publish", action="store_true", help="publish the listings created")
    parser.add_argument("--api", default=DEFAULT_API, help=f"trading API base URL (default {DEFAULT_API})")
    parser.add_argument("--token", default=os.environ.get("IPO_TOKEN"),
                        help="bearer token (default: $IPO_TOKEN)")
    parser.add_argument("--chunk", type=int, default=200, help="rows per request (default 200)")
    args = parser.parse_args(argv)
    console = Console()
    if not args.token:
        console.print("[red]a bearer token is needed: --token or IPO_TOKEN[/]")
        return 2
    text = args.file.read_text(encoding="utf-8")
    parts = chunks(text, args.chunk)
    totals = {"created": 0, "already_present": 0, "rejected": 0}
    errors: list[dict[str, object]] = []
    params: dict[str, str] = {"publish": "true" if args.publish else "false"}
    if args.owner:
        params["owner"] = args.owner
    with httpx.Client(base_url=args.api, timeout=120,
                      headers={"Authorization": f"Bearer {args.token}", "Content-Type": "text/csv"}) as client, \
            Progress(TextColumn("[bold]importing {task.fields[name]}"), BarColumn(), MofNCompleteColumn(),
                     TextColumn("rows"), TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("import", total=sum(n for _, _, n in parts), name=args.file.name)
        for first_row, body, count in parts:
            response = client.post("/v1/listing-imports", params={**params, "first_row": str(first_row)},
                                   content=body.encode())
            if response.status_code != 200:
                progress.stop()
                console.print(f"[red]the API refused rows from {first_row}: {response.status_code} "
                              f"{response.text[:500]}[/]")
                return 1
            report = response.json()
            for key in totals:
                totals[key] += report[key]
            errors.extend(report["errors"])
            progress.advance(task, count)
    console.print(f"created {totals['created']}, already present {totals['already_present']}, "
                  f"rejected {totals['rejected']}")
    if errors:
        table = Table("row", "column", "reason", title="Rows not imported")
        for error in errors:
            table.add_row(str(error["row"]), str(error["column"] or ""), str(error["reason"]))
        console.print(table)
    return 1 if totals["rejected"] else 0


def main() -> None:
    sys.exit(run(sys.argv[2:]))
