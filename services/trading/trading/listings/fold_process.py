"""The segment folder's merges and writes, in a process of their own beside the API's.

Why: a fold reads and rewrites a few thousand heads and postings documents and merges the carry; done in
the API's process, its driver calls, decoding and packing shared the one event loop with the requests,
and on a 2-core machine that loop was the busiest core (0.75 of a core while a fold ran against 0.64
between folds, at 60 creates + publishes a second at 100,000 listings). The requests that met a fold
took two or three times as long, every client was busy, and the pairs due meanwhile queued: create +
publish p95 196.8-320.7 ms in three runs. With the fold's work in this process the API's loop was as
busy during folds as between them, and the p95 was 75.1-78.2 ms in three runs of four (158.7 ms in
one on a slower machine; README, "Thirty-third session").

What stays in the API's process is everything that orders the read model's writers (search_store,
"batch segments"): `_fold_lock`, held for the whole fold as before; the list of live segments and the
generation, written by the API after the fold's documents; and every seq, the carry's among them
(FerretDB's `$inc` reads, modifies and replaces, so two processes taking seqs could take the same one).
This process reads the segments it does not hold yet (each once: they never change), merges them,
reads and rewrites the heads and postings documents and writes the new carry; it rests between its
store calls and waits for a lull in the API's requests as the API's folder did (`_fold_rest`), reading
the API's request count from shared memory (servicekit.middleware.request_count_cell), and stops resting
once another fold's worth of listings is live, reading the API's count of them the same way
(search_store.live_count_cell).

Copies: both processes keep copies of the documents they wrote (search_store.WrittenCopies) and take
turns under the API's `_fold_lock`: before each fold this process forgets what the API wrote since the
last one (all of its copies when the API dropped its own), and after it the API forgets what this one
wrote. A fold that fails drops this process's copies, and the API's folder drops its own (as before).

It runs at a lower priority (`search_fold_nice`), so that on a busy machine the kernel gives the
requests' processes the cores first, and exits when the API's process is gone. If it ends during a fold
(killed, out of memory) or cannot start, that fold is done in the API's process, from the store (the
API drops its copies: the process may have written some documents), and the next fold starts another.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import pymongo
from servicekit.app import new_event_loop
from servicekit.middleware import RawCount, follow_request_count, request_count_cell
from servicekit.mongo import Database, database, learn_store_traits, mongo_client

from trading.listings import fold_trace, search_store
from trading.settings import TradingSettings

log = logging.getLogger(__name__)

# How often this process looks whether the API's process is still there.
PARENT_CHECK_SECONDS = 1.0


@dataclass
class _Child:
    """This process's own state (in the folder's process only)."""

    loop: asyncio.AbstractEventLoop
    db: Database
    budget_seconds: float
    rest: float
    yield_above: int
    fold_listings: int


_child: _Child | None = None


def _start_child(settings: TradingSettings, requests: RawCount, live: RawCount, parent_pid: int,
                 budget_seconds: float) -> None:
    """The folder's process, once at its start (ProcessPoolExecutor's initializer)."""
    global _child
    if settings.search_fold_nice:
        os.nice(settings.search_fold_nice)
    follow_request_count(requests)
    search_store.follow_live_count(live)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()
    loop = new_event_loop()
    asyncio.set_event_loop(loop)

    async def connect() -> Database:  # the driver's client wants a running loop
        db = database(mongo_client(settings), settings.database_name)
        await learn_store_traits(db)
        return db

    search_store.configure_carry(settings.search_carry_below)
    fold_trace.configure(settings.search_fold_trace_file)
    _child = _Child(loop, loop.run_until_complete(connect()), budget_seconds, settings.search_fold_rest,
                    settings.search_fold_yield_above, settings.search_fold_listings)


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)  # the API is gone (its fold with it): nothing here is worth finishing


def _fold_in_child(numbers: list[int], carry_seq: int, written_by_api: list[str], dropped_by_api: bool,
                   resting: bool) -> search_store.FoldDone:
    """One fold in the folder's process: what it did, with the seconds it waited for a lull in the API's
    requests."""
    assert _child is not None, "not started as the folder's process"
    search_store.take_turn_after(written_by_api, dropped_by_api)
    waited_before = search_store.fold_yielded_seconds()
    try:
        done = _child.loop.run_until_complete(_fold(numbers, carry_seq, resting))
    except BaseException:
        search_store.drop_written_copies()
        raise
    done.waited_seconds = search_store.fold_yielded_seconds() - waited_before
    return done


async def _fold(numbers: list[int], carry_seq: int, resting: bool) -> search_store.FoldDone:
    assert _child is not None
    search_store.rest_this_fold(_child.rest if resting else 0.0, _child.yield_above, _child.fold_listings)
    with pymongo.timeout(_child.budget_seconds):
        await search_store.segments_of(_child.db, numbers)
        search_store.forget_segments_but(numbers)  # a fold's own segments leave the live list after it
        return await search_store.merge_and_file(_child.db, numbers, {}, {}, carry_seq)


class FoldProcess:
    """The API's handle on the folder's process: started at the first fold, again after it died."""

    def __init__(self, settings: TradingSettings, budget_seconds: float) -> None:
        self._settings = settings
        self._budget_seconds = budget_seconds
        self._executor: ProcessPoolExecutor | None = None

    def _started(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn, not fork: the API's process has threads (the driver's monitors, the executor's own).
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                1, mp_context=context, initializer=_start_child,
                initargs=(self._settings, request_count_cell(), search_store.live_count_cell(), os.getpid(),
                          self._budget_seconds))
        return self._executor

    async def fold(self, numbers: list[int], carry_seq: int, written_here: list[str],
                   dropped_here: bool) -> search_store.FoldDone:
        executor = self._started()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, _fold_in_child, numbers, carry_seq, written_here,
                                              dropped_here, search_store.resting())
        except BrokenProcessPool as gone:
            log.warning("the segment folder's process ended; this fold runs in the API's process, and the "
                        "next starts another")
            self.close()
            raise search_store.FolderProcessGone() from gone

    def close(self) -> None:
        """Stop the folder's process at once (a fold it was running is crash-safe, search_store)."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list((executor._processes or {}).values())  # no public way to end a running worker
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
