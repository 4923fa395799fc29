"""Benchmark (not a test): the segment folder's own computing per fold, as the catalogue grows to
100,000 listings, without the store.

Why it exists: the publish benchmark measures folds through the API, where a fold's few hundred
milliseconds of Python are lost in the machine's drift (the same code's CPU per pair moved from 21.5 to
30.5 ms within one afternoon; README, "Thirty-sixth session"). This one runs the folder's entry point,
`search_store.merge_and_file` (what `fold_process` calls for each fold: merge the live segments, file
the heads and postings documents, make the new carry), against the in-memory stand-in of the postings
collection that the unit tests use, so the CPU time it prints is the folder's own Python (pymongo's
encoding and the store's work are not in it: the publish benchmark has those), and it is steady from
run to run. Baseline: the same command at another commit (it calls nothing newer than
`merge_and_file`, `segment_document` and `Segment` of the thirty-sixth session), side by side.

It files `--listings` listings drawn like the catalogue's (tests.benchmarks.search.drawn_offer, some 40
terms each) in batch segments of `--batch`, folding every `--fold` listings with the carry live as the
folder does, and prints the CPU time per fold (this process's, worker threads included) around 1,000,
10,000 and 100,000 listings filed, with the carry's size then, and the store's final documents' digest
(the same for two commits that file alike, given the same PYTHONHASHSEED).

    PYTHONHASHSEED=0 .venv/bin/python -m tests.benchmarks.fold_cpu [--listings 100000] [--fold 1000]
        [--batch 50]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import time
import uuid
from typing import Any

from trading.listings import search_store
from trading.listings.search import RECORD, Posting, listing_terms, posting_of

from tests.benchmarks.search import drawn_offer
from tests.unit.trading_catalogue.fake_postings import FakeDb

# The folds measured around each point: the mean of those ending there.
AROUND = 5


def batch_postings(first_seq: int, count: int) -> dict[str, dict[int, Posting]]:
    """A batch's new postings, per term, for listings first_seq .. first_seq + count - 1."""
    adds: dict[str, dict[int, Posting]] = {}
    for seq in range(first_seq, first_seq + count):
        rng = random.Random(seq)
        doc: dict[str, Any] = {**drawn_offer(rng), "_id": "lst-" + uuid.UUID(int=rng.getrandbits(128)).hex[:20]}
        posting = posting_of(doc, seq)
        for term in listing_terms(doc):
            adds.setdefault(term, {})[seq] = posting
    return adds


def carried_postings(number: int | None) -> int:
    if number is None or number not in search_store._segments:
        return 0
    return sum(len(r) for r in search_store._segments[number].by_term.values()) // RECORD.size


def store_digest(db: FakeDb) -> str:
    def value(v: Any) -> Any:
        return bytes(v) if isinstance(v, bytes | bytearray) else v

    docs = sorted((k, sorted((f, value(v)) for f, v in d.items())) for k, d in db.collection.docs.items())
    return hashlib.sha256(repr(docs).encode()).hexdigest()[:16]


def run(listings: int, fold: int, batch: int) -> None:
    search_store._segments.clear()
    search_store._written.clear()
    db = FakeDb()
    seq = 0
    carry: int | None = None
    per_fold: list[tuple[int, float, int]] = []  # (listings filed, CPU seconds of the fold, carried postings)
    for _ in range(listings // fold):
        numbers = [] if carry is None else [carry]
        for _ in range(fold // batch):
            adds = batch_postings(seq + 1, batch)
            search_store._segments[seq + 1] = search_store.Segment.of_document(
                search_store.segment_document(seq + 1, adds))
            numbers.append(seq + 1)
            seq += batch
        seq += 1  # the carry's number, a seq of its own
        started = time.process_time()
        done = asyncio.run(search_store.merge_and_file(db, numbers, {}, {}, seq))  # type: ignore[arg-type]
        spent = time.process_time() - started
        for number in numbers:  # as the fold's end does
            search_store._segments.pop(number, None)
        carry = done.carry_number
        per_fold.append((len(per_fold) * fold + fold, spent, carried_postings(carry)))
    print(f"Segment folder's computing per fold (merge_and_file on the in-memory stand-in), folds of {fold} "
          f"listings in batches of {batch}, {time.strftime('%Y-%m-%d')}")
    print(f" listings filed | CPU per fold: mean of the {AROUND} folds up to there (min-max) | per listing | "
          "postings in the carry")
    for point in sorted({p for p in (1000, 10_000, 100_000) if p <= listings} | {listings}):
        ending = [f for f in per_fold if point - AROUND * fold < f[0] <= point]
        if not ending:
            continue
        cpu = [f[1] * 1000 for f in ending]
        spread = f"{statistics.mean(cpu):.1f} ms ({min(cpu):.1f}-{max(cpu):.1f})"
        print(f" {point:>14} | {spread:>55} | {statistics.mean(cpu) / fold:>8.3f} ms | {ending[-1][2]}")
    total = sum(f[1] for f in per_fold)
    print(f"all {len(per_fold)} folds: {total:.1f} s of CPU; store digest {store_digest(db)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--fold", type=int, default=1000, help="listings per fold (search_fold_listings)")
    parser.add_argument("--batch", type=int, default=50, help="listings per batch segment")
    args = parser.parse_args()
    run(args.listings, args.fold, args.batch)


if __name__ == "__main__":
    main()
