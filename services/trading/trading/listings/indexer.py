"""The catalogue indexer: files changed listings into the search read model, in batches, in the API.

Why not in the publishing request: filing one listing rewrites some hundred postings documents (one
per term, and again by price cell), which made a publish cost hundreds of milliseconds under load and
serialised every publish behind one lock. Now a listing change only leaves a marker
(`search_store.mark_pending`) and asks for a run; the indexer takes every marked listing in one batch
and writes each postings document once for all of them (search_store.reconcile_batch). A listing
therefore appears in search shortly after its publish answered (the delay is measured:
`trading_search_index_delay_seconds`, and by the publish benchmark), not as part of it.

It is a background task of the API process, the one writer of listings and postings (declared in the
service definition, run by the kit): woken by each listing change, and every `search_index_seconds`
in any case, which is also how markers a crash left behind are filed. A wake-up carries the changed
listings' ids in memory, so a woken run reads no marker, and, from the requests that wrote them, the
listings as written, so it reads those neither: it reads their filing documents, files a batch of new
listings as one segment document (search_store, "batch segments"), and files a batch that takes
postings out straight into the heads, folding the live segments with it. The segment folder beside
it (SEGMENT_FOLDER) merges the live segments into the heads in the background. Each run also refreshes
the listings-by-status gauge from the counters the indexer keeps (one `_id` read).
"""

from __future__ import annotations

import itertools
import time

from prometheus_client import Counter, Gauge, Histogram
from servicekit.background import BackgroundTask, request_run
from servicekit.mongo import Document
from servicekit.service import ServiceContext

from trading.listings import fold_trace, search_store
from trading.listings.domain import ListingStatus
from trading.listings.fold_process import FoldProcess
from trading.listings.metrics import LISTING_METRICS
from trading.settings import TradingSettings

TASK = "search-indexer"
FOLDER_TASK = "search-segment-folder"
# Listings filed per pass; a run makes passes until no marker is left.
BATCH = 256

PENDING = Gauge("trading_search_index_pending_listings",
                "Listings marked for the search read model at the start of the indexer's last pass")
LIVE_SEGMENT_LISTINGS = Gauge("trading_search_live_segment_listings",
                              "Listings filed in live segments, not yet folded into the terms' heads (the carry aside)")
CARRIED_POSTINGS = Gauge("trading_search_carried_postings",
                         "Postings of rare terms a fold left in the carry segment, for a later fold")
FOLDED = Counter("trading_search_folded_listings_total", "Listings the segment folder merged into the heads")
FOLD_YIELDED = Counter("trading_search_fold_yield_seconds_total",
                       "Seconds the segment folder waited for the process's requests to be answered")
DELAY = Histogram("trading_search_index_delay_seconds", "From a listing change to its filing in search",
                  buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0))


# Listings changed in this process and not filed yet, with when they were first woken (Unix seconds).
_woken: dict[str, float] = {}
# When the marker collection, and the status counts for the gauge, were last read (monotonic seconds).
_markers_read_at = float("-inf")
_gauge_read_at = float("-inf")
GAUGE_SECONDS = 1.0


# The listings woken by `request_filing`, as this process wrote them: filed from this copy, without
# reading them back (a read of the listing per filing was about a tenth of the store's commands while
# publishing). A wake-up without the document (`request_indexing`) drops the copy: the run reads it.
_as_written: dict[str, Document] = {}
# Listings this process has just inserted and not filed yet: no filing document of theirs exists, so
# the run does not look for one.
_created: set[str] = set()


def request_indexing(*listing_ids: str) -> None:
    """Listings changed (their markers written, for all but a create): file them now rather than at the
    next interval. The ids travel in memory, so a woken run need not read the marker collection."""
    for listing_id in listing_ids:
        _as_written.pop(listing_id, None)
    _wake(listing_ids)


def request_filing(written: Document, *, created: bool = False) -> None:
    """`request_indexing` for a listing this process has just written (its write answered), given as
    written: the whole document, at the version the write moved it to; `created`: by its insert."""
    listing_id = written["_id"]
    if created:
        _created.add(listing_id)
    known = _as_written.get(listing_id)
    if known is None or int(known["version"]) <= int(written["version"]):
        _as_written[listing_id] = written
    _wake((listing_id,))


def _wake(listing_ids: tuple[str, ...]) -> None:
    now = time.time()
    for listing_id in listing_ids:
        _woken.setdefault(listing_id, now)
    request_run(TASK)


def _take_woken(limit: int) -> tuple[dict[str, float], dict[str, Document], set[str]]:
    """Up to `limit` woken listings (id -> when first woken), the documents known of them, and those
    among them inserted by this process and never filed."""
    taken = dict(itertools.islice(_woken.items(), limit))
    known: dict[str, Document] = {}
    created: set[str] = set()
    for listing_id in taken:
        del _woken[listing_id]
        if listing_id in _as_written:
            known[listing_id] = _as_written.pop(listing_id)
        if listing_id in _created:
            _created.discard(listing_id)
            created.add(listing_id)
    return taken, known, created


async def index_pending(ctx: ServiceContext) -> int:
    """File the listings woken in memory; and every `search_index_seconds` (and at the first run) also
    those the marker collection holds (left by a crash, an earlier process or a bulk job)."""
    global _markers_read_at
    settings = ctx.settings
    assert isinstance(settings, TradingSettings)
    read_markers = time.monotonic() - _markers_read_at >= settings.search_index_seconds
    filed = 0
    while True:
        woken, known, created = _take_woken(BATCH)
        markers: list[Document] = []
        if read_markers:
            _markers_read_at = time.monotonic()
            markers = await search_store.pending(ctx.db, BATCH)
            read_markers = len(markers) == BATCH  # more may be waiting: read again on the next pass
        since = {**{m["_id"]: m["at"].timestamp() for m in markers}, **woken}
        PENDING.set(len(since))
        if not since:
            break
        try:
            filed += await search_store.reconcile_batch(ctx.db, list(since), {m["_id"] for m in markers}, known,
                                                        created)
        except BaseException:
            for listing_id, at in woken.items():  # for the next run (their markers, if any, stay too)
                _woken.setdefault(listing_id, at)
            # Not `created` again: the failed run may have written their filing documents.
            raise
        now = time.time()
        for at in since.values():
            DELAY.observe(max(now - at, 0.0))
        live = search_store.live_listings()
        LIVE_SEGMENT_LISTINGS.set(live)
        if live >= settings.search_fold_listings:
            request_run(FOLDER_TASK)
        if len(woken) < BATCH and not read_markers:
            break
    global _gauge_read_at
    if time.monotonic() - _gauge_read_at >= GAUGE_SECONDS:
        # At most once a second: under a stream of publishes a run ends every few hundred milliseconds,
        # and this read would delay the next run.
        _gauge_read_at = time.monotonic()
        counts = await search_store.status_counts(ctx.db)
        for status in ListingStatus:
            LISTING_METRICS.by_status.labels(status.value).set(counts.get(status.value, 0))
    return filed


async def _run(ctx: ServiceContext) -> None:
    await index_pending(ctx)


def _size_search_cache(ctx: ServiceContext) -> None:
    settings = ctx.settings
    assert isinstance(settings, TradingSettings)
    search_store.configure_cache(settings.search_cache_mb, settings.search_cache_check_seconds)
    search_store.configure_carry(settings.search_carry_below)
    fold_trace.configure(settings.search_fold_trace_file)


def _every(settings: TradingSettings) -> float:
    return settings.search_index_seconds


# How long the indexer waits after a wake-up before its run (servicekit.background's settle), so the
# listings changed meanwhile share the run. A run costs the store some seven commands whatever its size
# (the generation, the segment, the filing documents, the counts, the markers), and a create wakes it as
# well as its publish: running at once, a run at 60 publishes a second held about two listings, and a
# create's draft and its publish a few milliseconds later were filed in two runs. Waiting 50 ms puts a
# create and its publish, and the pairs around them, in one run: at 100,000 listings and 60 pairs a
# second, CPU per create + publish fell by a tenth to an eighth, and the delay to search stayed within
# the runs' spread, the store having more room (README, "Twenty-ninth session"). 100 ms saved no more.
INDEX_SETTLE_SECONDS = 0.05

SEARCH_INDEXER = BackgroundTask(TASK, _run, _every, prepare=_size_search_cache, budget_seconds=300.0,
                                settle_seconds=INDEX_SETTLE_SECONDS)


def _start_folding(ctx: ServiceContext) -> None:
    global _fold_process
    settings = ctx.settings
    assert isinstance(settings, TradingSettings)
    if settings.search_fold_process:
        _fold_process = FoldProcess(settings, FOLD_BUDGET_SECONDS)
        search_store.fold_in(_fold_process.fold)


def _stop_folding(ctx: ServiceContext) -> None:
    global _fold_process
    search_store.fold_in(None)
    if _fold_process is not None:
        _fold_process.close()
        _fold_process = None


async def _fold(ctx: ServiceContext) -> None:
    settings = ctx.settings
    assert isinstance(settings, TradingSettings)
    yielded_before = search_store.fold_yielded_seconds()
    try:
        FOLDED.inc(await search_store.fold_live_segments(ctx.db, settings.search_fold_listings,
                                                         settings.search_fold_idle_seconds, settings.search_fold_rest,
                                                         settings.search_fold_yield_above))
    finally:
        FOLD_YIELDED.inc(search_store.fold_yielded_seconds() - yielded_before)
    LIVE_SEGMENT_LISTINGS.set(search_store.live_listings())
    CARRIED_POSTINGS.set(search_store.carried_postings())


# Merges the indexer's segments into the terms' heads (search_store, "batch segments"), beside the
# indexer rather than in it, so that new listings keep being filed while a fold rewrites heads. Asked
# for by the indexer when the live segments reach `search_fold_listings`; its periodic run folds what a
# quiet spell left (one `_id` read at most when nothing is live, none once it knows).
FOLD_BUDGET_SECONDS = 300.0
# Its merges and writes run in a process of its own (fold_process), started at the first fold.
_fold_process: FoldProcess | None = None
SEGMENT_FOLDER = BackgroundTask(FOLDER_TASK, _fold, _every, prepare=_start_folding, close=_stop_folding,
                                budget_seconds=FOLD_BUDGET_SECONDS)
