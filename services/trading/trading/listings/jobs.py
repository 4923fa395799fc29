"""Bulk jobs over the whole catalogue, run by an operator, never on a timer (each reads every listing
once, which on FerretDB is a scan):

    python -m trading refile-search     after a change of search.LAYOUT: mark every published listing
                                        filed under an older layout; the API's indexer files them again
    python -m trading recount-listings  set the listings-by-status counters from the listings themselves
                                        (repairs the drift a crash between a filing and its count leaves)
"""

from __future__ import annotations

import argparse
import asyncio

from servicekit.mongo import Database, run_bulk_job

from trading.listings import search_store
from trading.settings import TradingSettings


async def _refile(db: Database) -> str:
    return f"marked {await search_store.mark_all_published_for_refiling(db)} listings for the indexer"


async def _recount(db: Database) -> str:
    counts = await search_store.recount_statuses(db)
    return "listings by status: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m trading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", choices=["refile-search", "recount-listings"])
    args = parser.parse_args(argv)
    print(asyncio.run(run_bulk_job(TradingSettings(), _refile if args.job == "refile-search" else _recount)))
