"""Store access of the search read model (see search.py for its design). Every read and write here is
by exact `_id`, the only filter FerretDB 1.x answers from an index.

Who writes it: the catalogue indexer of the process that changes listings (the API; see indexer.py), in
batches, one at a time, and the segment folder beside it (below, "batch segments"); whoever writes heads
and postings documents holds one process-wide lock (`_fold_lock`), because FerretDB applies an update as
read-modify-replace and two writers of one posting document could lose one of them. Every listing change
but a create first leaves a marker in `listing_search_pending` (in the listing's unit of work, before
its write); the indexer files the changed listings in batches and then drops their markers, so a crash
anywhere is repaired by the next run, and nothing ever scans the listings to find what is behind. (A
create only wakes the indexer in memory: a new draft is not searchable, and a crash before it was
counted leaves the status gauge one draft short, which `recount-listings` repairs.)

What a listing is filed under (its search seq, terms, price, layout and the status it is counted as)
lives in its *filing* document, `c|<listing id>`, beside its result card (`j`, only while it is
searchable), written by the indexer in the same statement as the card. The listing itself is never
written by the indexer: before, each filing read the listing again under its lock and wrote these
fields back onto it, a read and a write of a large document per listing on top of the card's.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ctypes
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from multiprocessing.sharedctypes import RawValue
from typing import Any, TypeVar

from bson import Binary
from pymongo import DeleteOne, InsertOne, ReplaceOne, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError
from servicekit.middleware import RawCount, requests_being_served
from servicekit.mongo import PROCESS_LOCKS, Database, Document, bulk_write_in_batches, only_duplicates

from trading.listings import fold_trace
from trading.listings.aggregate import LISTING
from trading.listings.domain import ListingStatus
from trading.listings.models import ListingRead
from trading.listings.search import (
    EMPTY_BLOCK,
    EMPTY_HEAD,
    EMPTY_SPLIT,
    LAYOUT,
    NEGOTIABLE,
    RECORD,
    TAIL_MAX,
    Posting,
    PostingBlock,
    RecordFilter,
    SearchQuery,
    SearchSort,
    SplitPostings,
    TermHead,
    block_can_follow,
    block_key,
    block_order,
    bucket_can_follow,
    bucket_order,
    cell_bucket,
    epoch_key,
    epoch_of,
    intersect,
    is_price_order,
    joined_keys,
    listing_price,
    listing_terms,
    newest_seq,
    pack,
    packed_by_term,
    posting_of,
    price_cell,
    record_keys,
    record_seqs,
    records_by_document,
    records_by_epoch,
    records_with_seqs,
    seq_in_row,
    sort_key,
    spread_out,
    unpack,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

POSTINGS = "listing_postings"
# Markers of listings waiting to be filed ({_id: listing id, version}), and the status counts.
PENDING = "listing_search_pending"
COUNTERS = "listing_counters"
STATUS_COUNTS_ID = "by-status"
LISTINGS = LISTING.collection
SEQ_ID = "seq"
# The most stages (seq blocks, or price buckets) a search reads in one round trip (it starts with one and
# doubles).
MAX_STAGES_PER_ROUND = 8
# How the indexer writes a batch: commands of this many statements, this many side by side
# (servicekit.mongo.bulk_write_in_batches: FerretDB commits separate commands in parallel, a command's
# statements one after the other).
WRITE_COMMAND = 8
WRITES_AT_ONCE = 4


# How many documents the indexer and the segment folder read side by side. A fold reads thousands of
# heads: all at once, they queued ahead of every request's store calls in the client's connection pool,
# and requests waited for seconds.
READS_AT_ONCE = 32

_write_lock = asyncio.Lock()
GENERATION_ID = "generation"


class ReadCache:
    """Read-model documents this process has read, kept while the read model's generation is unchanged.

    Every change to the read model bumps one counter document (`generation`) after its writes; a search
    reads that one document first and drops the cache when it moved. So a repeated or overlapping query
    costs at most one `_id` read instead of dozens, every process stays coherent with every writer, and
    a change is visible to the next search (a search racing a change may miss it by milliseconds, as
    without the cache). Postings are kept decoded, so a popular block (a deal type's, a province's) is
    unpacked once, not per query. Bounded by approximate size, least recently used out first.

    In the API, whose indexer is the read model's one writer, even that read is mostly skipped
    (`check_seconds` > 0), and its own changes do not empty the cache: the indexer tells this process's
    cache which documents it wrote and the generation its bump made (`changed_here`), and only those
    documents go. Under a stream of publishes the indexer bumps the generation every second or so; when
    each bump emptied the cache, every search after it read its heads, blocks and cards again (in the
    publish benchmark at 100,000 listings, its search poller's card reads were a third of the store's
    command time). The generation is read at most every `check_seconds` for any other writer (a
    `refile-search` or a test writing the store directly), and a bump that is not the one after the
    generation the cache holds (someone else bumped too) empties it. A read that was in flight while
    documents were dropped is answered but not kept (`_fence`): it may hold what the writes replaced.
    A cache hit costs no store call. Elsewhere (the worker's matchmaking) every search reads the
    generation, as before (`check_seconds` 0).
    """

    def __init__(self, max_bytes: int, check_seconds: float = 0.0) -> None:
        self.max_bytes = max_bytes
        self.check_seconds = check_seconds
        self.generation: int | None = None
        # The live segments (their numbers) as of that generation: searches read them besides the heads.
        self.live: tuple[int, ...] = ()
        self._checked_at = float("-inf")
        self._values: OrderedDict[str, Any] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._bytes = 0
        # Moves whenever documents are dropped: a read begun before cannot tell whether it saw them
        # before or after the change, so what it fetched is not kept.
        self._fence = 0

    def changed_here(self, written: Collection[str] = (), generation: int | None = None,
                     live: Sequence[int] | None = None) -> None:
        """This process changed the read model: `written` are the documents it wrote (and the heads of
        the terms whose segments came or went), `generation` the counter its bump returned, `live` the
        live segments after it. Only those documents go when that bump is the one after the generation
        the cache holds; otherwise everything goes and the next search reads the generation."""
        self._fence += 1
        if generation is not None and self.generation is not None and generation == self.generation + 1:
            for doc_id in written:
                if doc_id in self._values:
                    del self._values[doc_id]
                    self._bytes -= self._sizes.pop(doc_id)
            self.generation = generation
            if live is not None:
                self.live = tuple(live)
            self._checked_at = time.monotonic()
            return
        self._clear()
        self.generation = None
        self._checked_at = float("-inf")

    def _clear(self) -> None:
        self._values.clear()
        self._sizes.clear()
        self._bytes = 0

    async def validate(self, db: Database) -> None:
        if self.max_bytes <= 0:  # nothing kept but the live segments, which every search reads
            # The writer's own list where this process is the writer (the API): no read per search.
            self.live = tuple(_live) if _live is not None else live_numbers(
                await db[POSTINGS].find_one({"_id": GENERATION_ID}))
            forget_segments_but(self.live)
            return
        now = time.monotonic()
        if now - self._checked_at < self.check_seconds:
            return
        self._checked_at = now
        fence = self._fence
        doc = await db[POSTINGS].find_one({"_id": GENERATION_ID})
        # A generation document without a count: the first batch of a new catalogue listed its segment
        # before anything bumped it (a search then answered 500, seen once after a benchmark's drop).
        generation = int(doc.get("n", 0)) if doc else 0
        if fence != self._fence:
            return  # the indexer changed it meanwhile and said what: what was read here is older
        if generation != self.generation:
            self._fence += 1
            self._clear()
            self.generation = generation
            self.live = live_numbers(doc)
            forget_segments_but(self.live)

    async def read(self, db: Database, ids: Sequence[str]) -> list[Document | None]:
        """Documents as stored (heads, cards)."""
        return await self._through(db, ids, _as_stored, _stored_size)

    async def postings(self, db: Database, ids: Sequence[str]) -> list[PostingBlock | None]:
        """Postings documents, as blocks (search.PostingBlock)."""
        return await self._through(db, ids, _decoded, _decoded_size)

    async def epochs(self, db: Database, ids: Sequence[str]) -> list[SplitPostings]:
        """Epoch documents, split by block and by cell (search.SplitPostings)."""
        return await self._through(db, ids, _split, _split_size)

    async def heads(self, db: Database, terms: Sequence[str]) -> list[TermHead]:
        """The terms' heads, decoded (search.TermHead; a term without one has EMPTY_HEAD), each with the
        term's postings in the live segments added to its tail: what a search treats as the tail is
        everything not yet in a block or cell document, so the rest of the search is as without segments."""
        segments = await segments_of(db, self.live)

        def decode(doc_id: str, doc: Document | None) -> TermHead:
            term = doc_id.split("|", 1)[1]
            return _head(doc, b"".join(segment.by_term.get(term, b"") for segment in segments))

        return await self._through(db, [head_id(t) for t in terms], decode, _head_size)

    async def _through(self, db: Database, ids: Sequence[str], decode: Callable[[str, Document | None], T],
                       size_of: Callable[[T], int]) -> list[T]:
        known: dict[str, T] = {}
        for doc_id in dict.fromkeys(ids):
            if doc_id in self._values:
                self._values.move_to_end(doc_id)
                known[doc_id] = self._values[doc_id]
        missing = [i for i in dict.fromkeys(ids) if i not in known]
        fence = self._fence
        fetched = await asyncio.gather(*(db[POSTINGS].find_one({"_id": i}) for i in missing))
        for doc_id, doc in zip(missing, fetched, strict=True):
            value = known[doc_id] = decode(doc_id, doc)
            if self.max_bytes > 0 and fence == self._fence:
                self._put(doc_id, value, size_of(value))
        return [known[i] for i in ids]

    def _put(self, doc_id: str, value: object, size: int) -> None:
        if doc_id in self._values:
            self._bytes -= self._sizes[doc_id]
        self._values[doc_id] = value
        self._sizes[doc_id] = size
        self._bytes += size
        while self._bytes > self.max_bytes and len(self._values) > 1:
            old, _ = self._values.popitem(last=False)
            self._bytes -= self._sizes.pop(old)


# How long the segment folder rests after each group of its store calls, as a share of the time the group
# took (`search_fold_rest`; 0: no rest). Set only for the folder's own run (a context variable, so the
# indexer's batches and searches, which share these functions, never wait).
#
# Why: on a small machine a fold at full speed took the store (and with it the cores) from the requests
# for its whole run. At 60 creates + publishes per second on 2 cores, with the collector's pauses already
# gone (servicekit.app), pairs answered in 120.9 ms at p95 without the rest and 94.3 ms with it (before
# that change, 52.2 ms with folding switched off; README, "A fold makes room for requests"). A fold is
# background work with time to spare (the next one is due only once the live segments hold
# `search_fold_listings` again), so it yields the store between its groups of reads and writes, and
# writes one command at a time.
#
# After each rest the folder also waits while the process is serving more than `search_fold_yield_above`
# HTTP requests (0: it never waits; the count is servicekit.middleware.requests_being_served), looking
# again every FOLD_YIELD_POLL_SECONDS. Why: the rest alone spaces a fold's store calls evenly whatever
# the requests are doing, and at 60 pairs a second on 2 cores a fold still met the requests' bursts: the
# eight clients' pairs then took two or three times as long, every client was busy, and the pairs due
# meanwhile queued for hundreds of milliseconds (`tests.benchmarks.timeline` on the publish benchmark's
# `--timeline`: 80-96% of the pairs over 100 ms overlapped a fold). Waiting for a moment when few requests
# are in flight puts the fold's store calls in the gaps between the bursts (README, "Thirty-second
# session"). Polling, rather than being woken by the middleware, keeps every request free of any work
# for the folder; it happens only in a fold's run, never in an indexer's batch.
#
# A fold rests (and waits) for FOLD_REST_MAX_SECONDS in all at most, then goes on at full speed: its run has
# a budget (the background task's, 300 s), and a fold too large to finish in it would be tried again, larger
# each time (a bulk job's refiling, a folder that was stopped for long).
FOLD_REST_MAX_SECONDS = 60.0
FOLD_YIELD_POLL_SECONDS = 0.005
# The API's deletes of the folded segments at a fold's end rest and wait for lulls for this long in all at
# most: the fold lock is held meanwhile, which a batch taking postings out (a withdrawal) waits for, and
# under a load that never lulls only falling behind would end the waiting.
FOLD_END_REST_MAX_SECONDS = 1.0
# And not at all while the live segments hold this many times `search_fold_listings` (fold_live_segments).
FOLD_BEHIND_AT = 2


@dataclass
class _Rest:
    share: float  # of the time each group of store calls took
    left: float  # seconds of rest this fold may still take
    yield_above: int = 0  # wait while the process serves more requests than this (0: never)
    behind_at: int = 0  # and neither rest nor wait once this many listings are live again (0: no limit)


_fold_rest: contextvars.ContextVar[_Rest | None] = contextvars.ContextVar("fold_rest", default=None)
# The listings in the writer's live segments, the carry aside (`live_listings`), kept by the API's
# process in shared memory so that the folder's process (fold_process) sees them too: a fold that rests
# and waits for lulls while publishing goes on can find another fold's worth waiting before it is done,
# and then goes on at full speed. Why: once, on a machine running slower than usual, a fold waited for
# lulls through most of its 60 s allowance while the requests, slower themselves, were rarely few; the
# live segments grew to 4,985 listings, every search merged them, and create + publish p95 went to 2.9 s
# (README, "Thirty-third session"). Checked at each rest, so a fold that started behind never rests.
_live_count: RawCount = RawValue(ctypes.c_int, 0)


def _fell_behind(rest: _Rest) -> bool:
    return rest.behind_at > 0 and _live_count.value >= rest.behind_at


def live_count_cell() -> RawCount:
    """The shared-memory cell of the live listings count, for the folder's process (passed as it starts)."""
    return _live_count


def follow_live_count(cell: RawCount) -> None:
    """In the folder's process: read the API's count of live listings."""
    global _live_count
    _live_count = cell


_fold_yielded = 0.0  # seconds folds have waited for requests, in all (fold_yielded_seconds)


def _trace_step(name: str) -> None:
    """Note a step of the folder's run (fold_trace), not of a batch folding its own removals: only the
    folder's run (in either process) sets `_fold_rest`."""
    if _fold_rest.get() is not None:
        fold_trace.step(name)


def resting() -> bool:
    """Whether the fold running in this context rests between its store calls (`_fold_rest`)."""
    rest = _fold_rest.get()
    return rest is not None and rest.share > 0


def rest_this_fold(share: float, yield_above: int, fold_listings: int) -> None:
    """Have the fold running in this context (a task's) rest for `share` of each group of store calls'
    time, then wait while the process serves more than `yield_above` requests (0: never), for
    FOLD_REST_MAX_SECONDS in all, and stop resting once FOLD_BEHIND_AT times `fold_listings` are live
    (`_fold_rest`)."""
    _fold_rest.set(_Rest(share, FOLD_REST_MAX_SECONDS, yield_above, FOLD_BEHIND_AT * fold_listings))


async def _rest_after(started: float) -> None:
    rest = _fold_rest.get()
    if rest is None or rest.share <= 0 or rest.left <= 0:
        return
    if _fell_behind(rest):
        rest.share = 0.0  # the rest of this fold at full speed
        return
    pause = min((time.monotonic() - started) * rest.share, rest.left)
    rest.left -= pause
    await asyncio.sleep(pause)
    if rest.yield_above > 0:
        await _yield_to_requests(rest)


async def _yield_to_requests(rest: _Rest) -> None:
    """Wait while the process serves more than `rest.yield_above` requests (from the rest's budget)."""
    global _fold_yielded
    began = time.monotonic()
    while requests_being_served() > rest.yield_above and rest.left > 0 and not _fell_behind(rest):
        looked = time.monotonic()
        await asyncio.sleep(FOLD_YIELD_POLL_SECONDS)
        rest.left -= time.monotonic() - looked  # as long as it took, the loop being busy or not
    _fold_yielded += time.monotonic() - began


def fold_yielded_seconds() -> float:
    """Seconds this process's folds have waited for requests to be answered (`_yield_to_requests`)."""
    return _fold_yielded


async def _read_at_most(db: Database, ids: Sequence[str], at_once: int) -> list[Document | None]:
    """Documents by `_id`, `at_once` reads in flight at most, in the order asked (resting between groups
    in the segment folder's run, `_fold_rest`)."""
    found: list[Document | None] = []
    for start in range(0, len(ids), at_once):
        started = time.monotonic()
        found += await asyncio.gather(*(db[POSTINGS].find_one({"_id": i}) for i in ids[start:start + at_once]))
        await _rest_after(started)
    return found


async def _write_postings(db: Database, operations: Sequence[Any]) -> None:
    """A batch's or a fold's writes of postings documents and heads (resting between groups of commands in
    the segment folder's run, `_fold_rest`)."""
    if not resting():
        await bulk_write_in_batches(db[POSTINGS], list(operations), per_command=WRITE_COMMAND, at_once=WRITES_AT_ONCE)
        return
    # One command at a time: the store takes one writer at a time, and each command side by side was one
    # more writer ahead of a request's.
    for start in range(0, len(operations), WRITE_COMMAND):
        started = time.monotonic()
        await bulk_write_in_batches(db[POSTINGS], list(operations[start:start + WRITE_COMMAND]),
                                    per_command=WRITE_COMMAND)
        await _rest_after(started)


def _as_stored(_doc_id: str, doc: Document | None) -> Document | None:
    return doc


def _stored_size(doc: Document | None) -> int:
    return (100 + (len(doc["j"]) if doc and "j" in doc else 0) + len(str((doc or {}).get("terms") or ""))
            + 16 * len((doc or {}).get("b") or ()))


def _decoded(_doc_id: str, doc: Document | None) -> PostingBlock | None:
    return None if doc is None else PostingBlock(bytes(doc["d"]))


def _decoded_size(block: PostingBlock | None) -> int:
    return 100 if block is None else block.size


def _split(_doc_id: str, doc: Document | None) -> SplitPostings:
    return EMPTY_SPLIT if doc is None else SplitPostings(bytes(doc["d"]))


def _split_size(split: SplitPostings) -> int:
    return split.size


def _head(doc: Document | None, in_segments: bytes = b"") -> TermHead:
    if doc is None and not in_segments:
        return EMPTY_HEAD
    doc = doc or {}
    return TermHead(doc.get("b") or "", doc.get("q") or "", bytes(doc.get("t") or b"") + in_segments,
                    doc.get("e") or "", doc.get("f") or "")


def _head_size(head: TermHead) -> int:
    return head.size


_cache = ReadCache(64 * 1024 * 1024)


# --- batch segments -----------------------------------------------------------------------------------
#
# Why: a batch that filed its listings straight into the heads rewrote the head of every distinct term
# it touched, and listings like the catalogue's share few terms (a batch of 50 touches some 870), so at
# 100,000 listings a publish cost the store about 17 head rewrites and the indexer fell seconds behind.
# Now a batch of new listings writes one *segment* document, `s4|<first seq>`, with all its postings
# by term, names it in the generation document's list of live segments (`s`), and is done; a search
# reads a term's postings in the live segments as more of its tail (ReadCache.heads). Segments never
# change, so each process reads one once and keeps it. The *segment folder* (a background task of the
# API, indexer.SEGMENT_FOLDER) merges the live segments into the heads once they hold
# `search_fold_listings` listings, a few rewrites per listing instead of 17, while batches go on
# writing segments; a batch that takes postings out (a listing changed or withdrawn after being
# filed) folds every live segment with its own changes first, since its seqs may be in one.
#
# Crash safety: a segment is live (in the list) before its listings' filing documents are written, so a
# listing whose filing says it is filed is in a live segment or in the heads. A fold writes the heads
# first, then takes its segments off the list, then deletes them: a crash between leaves postings in both
# a head and a live segment, which a search counts once (the same seq twice, search.intersect), and the
# next fold appends only what its heads do not hold (_file_terms).
#
# Rare terms wait in a *carry* segment. Listings like the catalogue's spread over a vocabulary of some
# 10,000 terms, most of them rare: a fold of 1,000 listings met some 6,500 distinct terms and rewrote
# each one's head, most of them for one or two postings, so folding was a third of the store's work per
# publish (README, "Twenty-second session"). Now a fold writes the head of a term only when the live
# segments hold CARRY_BELOW postings of it or more (or the batch folding changes it); the postings of the
# rarer terms go, all together, into one new segment marked as the carry (`c`), which replaces the old
# carry in the live list, so each rare term's head is written once per CARRY_BELOW postings instead of
# once per fold. The carry holds at most CARRY_MAX_POSTINGS (the terms with most postings are written
# first when it would hold more), so it stays a few megabytes, read once by each process. Its number is
# a seq reserved for it (unique; it holds older seqs than its number, which nothing relies on). It is not
# counted against the fold threshold, and a fold with nothing but the carry live does not run: idle
# stays idle. Crash safety is as above: the carry is written before the list names it, and a crash
# before the list is written leaves it unnamed (never read; like an orphan segment).
CARRY_BELOW = 8
CARRY_MAX_POSTINGS = 100_000


class Segment:
    """One batch's postings as written (never changed): the packed records in seq order, and each term's
    records, for searches; or a fold's carry (`carry`: the rare terms' postings it left for later)."""

    __slots__ = ("by_term", "carry", "packed")

    def __init__(self, packed: bytes, by_term: dict[str, bytes], carry: bool = False) -> None:
        self.packed = packed
        self.by_term = by_term
        self.carry = carry

    @classmethod
    def of_document(cls, doc: Document) -> Segment:
        packed, rows_by_term = bytes(doc["d"]), doc.get("t") or ""
        size = RECORD.size
        # Each record cut once, and a term of one row (most of a carry's: rare terms) takes its record as
        # it is, rather than a slice and a join per row: a carry holds some 20,000 terms.
        records = [packed[start:start + size] for start in range(0, len(packed), size)]
        by_term: dict[str, bytes] = {}
        for line in rows_by_term.split("\n"):
            if line:
                term, _, rows = line.partition("\t")
                by_term[term] = (b"".join([records[int(r)] for r in rows.split()]) if " " in rows
                                 else records[int(rows)])
        return cls(packed, by_term, bool(doc.get("c")))

    def __len__(self) -> int:
        return len(self.packed) // RECORD.size

    def postings_by_term(self) -> dict[str, list[Posting]]:
        return {term: unpack(records) for term, records in self.by_term.items()}


def segment_id(number: int) -> str:
    """A segment's document; its number is the first seq its batch reserved (unique, growing)."""
    return f"s{LAYOUT}|{number}"


def segment_document(number: int, adds: Mapping[str, Mapping[int, Posting]]) -> Document:
    """The segment of a batch's new postings (per term, seq -> posting): each listing's record once, and
    per term (one line each) the rows of its listings. Strings and one binary value: FerretDB decodes
    arrays and maps element by element. (A fold's carry has the same shape and `c`: carry_segment.)"""
    postings = sorted({p.seq: p for by_seq in adds.values() for p in by_seq.values()}.values())
    row_of = {p.seq: row for row, p in enumerate(postings)}
    lines = [f"{term}\t{' '.join(str(row_of[seq]) for seq in sorted(by_seq))}" for term, by_seq in adds.items()]
    return {"_id": segment_id(number), "d": Binary(pack(postings)), "t": "\n".join(lines)}


def carry_segment(number: int, records_by_term: Mapping[str, bytes]) -> tuple[Document, Segment]:
    """A fold's carry, from each term's packed records (in seq order, as `_merged_for_fold` leaves
    them), as a document of the same shape as a batch's segment (segment_document) and as the decoded
    Segment, made together: nothing is decoded into postings or packed again. Each listing's record is
    kept once (any term's copy: they are the same posting)."""
    record_of: dict[int, bytes] = {}
    seqs_by_term: dict[str, list[int]] = {}
    for term, records in records_by_term.items():
        cut = records_with_seqs(records)
        record_of.update(cut)
        seqs_by_term[term] = [seq for seq, _ in cut]
    ordered = sorted(record_of)
    row_of = {seq: str(row) for row, seq in enumerate(ordered)}
    packed = b"".join([record_of[seq] for seq in ordered])
    lines = [f"{term}\t{' '.join([row_of[seq] for seq in seqs])}" for term, seqs in seqs_by_term.items()]
    doc: Document = {"_id": segment_id(number), "d": Binary(packed), "t": "\n".join(lines), "c": True}
    return doc, Segment(packed, dict(records_by_term), carry=True)


def carried_terms(counts: Mapping[str, int], changed: Collection[str]) -> set[str]:
    """The terms a fold leaves in the carry, given how many postings each holds after the fold's merge:
    fewer than CARRY_BELOW (but some) and not `changed` by the batch folding; when they would hold more
    than CARRY_MAX_POSTINGS together, the ones with most postings are written to their heads until they
    hold at most half of it (so the next folds do not each meet the limit again)."""
    rare = {t: n for t, n in counts.items() if n and t not in changed and n < CARRY_BELOW}
    total = sum(rare.values())
    if total > CARRY_MAX_POSTINGS:
        for term in sorted(rare, key=lambda t: (-rare[t], t)):
            if total <= CARRY_MAX_POSTINGS // 2:
                break
            total -= rare.pop(term)
    return set(rare)


def live_numbers(generation: Document | None) -> tuple[int, ...]:
    """The live segments the generation document names, oldest first."""
    return tuple(int(n) for n in str((generation or {}).get("s") or "").split())


# Segments this process has read or written, by number: immutable, so kept while live.
_segments: dict[int, Segment] = {}


async def segments_of(db: Database, numbers: Sequence[int]) -> list[Segment]:
    """The live segments, read once each. One deleted meanwhile (a fold took it off the list after this
    search read the list) is skipped: its postings are in the heads by then."""
    missing = [n for n in numbers if n not in _segments]
    for number, doc in zip(missing, await _read_at_most(db, [segment_id(n) for n in missing], READS_AT_ONCE),
                           strict=True):
        if doc is not None:
            _segments[number] = Segment.of_document(doc)
    return [_segments[n] for n in numbers if n in _segments]


def forget_segments_but(numbers: Collection[int]) -> None:
    keep = {*numbers, *(_live or ())}
    for number in [n for n in _segments if n not in keep]:
        del _segments[number]


# The writer's list of live segments (None: read it from the generation document), changed only under
# `_live_lock` and written whole, since the API's one writer knows it; batches add to it while a fold
# runs. `_fold_lock` is held by whoever writes heads from segments: the folder, or a batch with removals.
_live: list[int] | None = None
_live_lock = asyncio.Lock()
_fold_lock = asyncio.Lock()
# When this process last added a segment (monotonic seconds; -inf: none since it started).
_last_segment_at = float("-inf")


async def _writer_live(db: Database) -> list[int]:
    global _live
    if _live is None:
        _live = list(live_numbers(await db[POSTINGS].find_one({"_id": GENERATION_ID})))
    return _live


async def _set_live(db: Database, live: list[int], bump: bool) -> int | None:
    """Write the list of live segments (under `_live_lock`), and bump the generation with it if asked
    (returns the generation then). A write that failed may have landed: the list is read again next time."""
    global _live
    joined = " ".join(str(n) for n in live)
    try:
        if bump:
            doc = await db[POSTINGS].find_one_and_update(
                {"_id": GENERATION_ID}, {"$set": {"s": joined}, "$inc": {"n": 1}}, upsert=True,
                return_document=ReturnDocument.AFTER)
            _live = live
            _live_count.value = live_listings()
            return int((doc or {}).get("n", 0))
        await db[POSTINGS].update_one({"_id": GENERATION_ID}, {"$set": {"s": joined}}, upsert=True)
        _live = live
        _live_count.value = live_listings()
        return None
    except BaseException:
        _live = None
        raise


def live_listings() -> int:
    """Listings in the live segments this process knows of, the carry aside (what the folder weighs
    against its threshold)."""
    return sum(len(_segments[n]) for n in _live or () if n in _segments and not _segments[n].carry)


def carried_postings() -> int:
    """Postings waiting in the carry (rare terms' postings a fold left for later; "batch segments")."""
    return sum(sum(len(r) for r in _segments[n].by_term.values()) // RECORD.size
               for n in _live or () if n in _segments and _segments[n].carry)


def seconds_since_last_segment() -> float:
    return time.monotonic() - _last_segment_at


async def _add_segment(db: Database, number: int, adds: Mapping[str, Mapping[int, Posting]]) -> set[str]:
    """File a batch's new postings as one segment and make it live. Returns the heads it changes (for
    the read cache: a term's head as searches see it holds its segments' postings)."""
    global _last_segment_at
    doc = segment_document(number, adds)
    await db[POSTINGS].insert_one(doc)
    _segments[number] = Segment.of_document(doc)
    async with _live_lock:
        await _set_live(db, [*await _writer_live(db), number], bump=False)
    _last_segment_at = time.monotonic()
    return {head_id(t) for t in adds}


def _merged_records(parts: Sequence[bytes], gone: Collection[int], added: bytes) -> bytes:
    """One term's records after a fold's merge: those of the segments (`parts`, each in seq order, one
    record per seq), less the seqs `gone`, then the batch's `added` (a listing filed again keeps its
    seq: its new record replaces the old one), in seq order."""
    if not gone and all(seq_in_row(earlier, -1) < seq_in_row(later, 0)
                        for earlier, later in pairwise([*parts, added] if added else parts)):
        return b"".join([*parts, added])
    record_of: dict[int, bytes] = {}
    for part in parts:
        record_of.update(records_with_seqs(part))
    for seq in gone:
        record_of.pop(seq, None)
    record_of.update(records_with_seqs(added))
    return b"".join([record_of[seq] for seq in sorted(record_of)])


def _merged_for_fold(segments: Sequence[Segment], removes: Mapping[str, Mapping[int, int]],
                     adds: Mapping[str, Mapping[int, Posting]]
                     ) -> tuple[set[str], dict[str, bytes], dict[str, bytes]]:
    """A fold's postings (pure: run in a worker thread): the terms the segments hold, and every term's
    packed records (in seq order) after the batch's removals and additions, split into those to file in
    the heads and those left in the new carry (carried_terms).

    Records, not postings: the old carry's terms that the new segments do not touch (most of its some
    20,000) pass into the new carry as they are, a frequent term's records are appended to its tail as
    they are (`_file_terms`), and a term's records from batches one after the other are joined as they
    are. Decoding every posting (the carry's some 50,000 among them) and packing them again was most of
    a fold's Python (README, "Thirty-seventh session")."""
    parts_by_term: dict[str, list[bytes]] = {}
    for segment in segments:
        for term, records in segment.by_term.items():
            parts_by_term.setdefault(term, []).append(records)
    folded_terms = set(parts_by_term)
    added = packed_by_term(adds)
    # Segments whose seqs follow one another in the list's order (what batches written one after the
    # other leave): every term's parts then too, so the check is made once here, not once per term.
    in_order = all(seq_in_row(earlier.packed, -1) < seq_in_row(later.packed, 0)
                   for earlier, later in pairwise([s for s in segments if s.packed]))
    merged: dict[str, bytes] = {}
    for term in [*parts_by_term, *(t for t in added if t not in parts_by_term)]:
        parts, gone, new = parts_by_term.get(term, []), removes.get(term, {}), added.get(term, b"")
        if not gone and not new and (in_order or len(parts) == 1):
            merged[term] = parts[0] if len(parts) == 1 else b"".join(parts)
        else:
            merged[term] = _merged_records(parts, gone, new)
    carried = carried_terms({t: len(r) // RECORD.size for t, r in merged.items()}, {*removes, *adds})
    to_file = {t: r for t, r in merged.items() if r and t not in carried}
    return folded_terms, to_file, {t: merged[t] for t in carried}


@dataclass
class FoldDone:
    """What a fold's merge and writes did (`merge_and_file`, here or in the folder's process): the terms
    the folded segments held, the documents written, the new carry (its number and the segment, decoded;
    None: no carry) and, in the folder's process, the seconds it waited for a lull in the API's requests.

    The carry travels decoded: the API's process then takes it as it is instead of decoding the document
    again, tens of milliseconds of Python holding the interpreter while every request of the process
    waited its turn (the pairs over 100 ms of quick runs were nearly all in flight then; README,
    "Thirty-sixth session")."""

    folded_terms: set[str]
    changed: list[str]
    carry_number: int | None = None
    carry: Segment | None = None
    waited_seconds: float = 0.0


async def merge_and_file(db: Database, numbers: Sequence[int], removes: Mapping[str, Mapping[int, int]],
                         adds: Mapping[str, Mapping[int, Posting]], carry_seq: int | None = None) -> FoldDone:
    """A fold's work on the store: merge these live segments (read already, `segments_of`) with a batch's
    removals and additions, write the heads and postings documents (`_file_terms`) and the new carry (at
    `carry_seq`, or a seq taken now). Run by the API's process or by the folder's (fold_process), under
    the API's `_fold_lock` either way."""
    segments = [_segments[n] for n in numbers if n in _segments]
    _trace_step(fold_trace.SEGMENTS_READ)
    # Merging the segments (the carry among them holds some 50,000 postings at 100,000 listings), and
    # making the new carry, held the event loop for tens of milliseconds at a time, and
    # every request of the process waited. In a worker thread the loop takes turns with it: the
    # interpreter hands the other thread its turn every few milliseconds (sys.getswitchinterval).
    folded_terms, to_file, carried = await asyncio.to_thread(_merged_for_fold, segments, removes, adds)
    _trace_step(fold_trace.MERGED)
    changed = await _file_terms(db, {t: dict(gone) for t, gone in removes.items()}, to_file)
    _trace_step(fold_trace.FILED)
    if not carried:
        return FoldDone(folded_terms, sorted(changed))
    seq = carry_seq if carry_seq is not None else await _take_seqs(db, 1)
    carry, decoded = await asyncio.to_thread(carry_segment, seq, carried)
    _trace_step(fold_trace.CARRY_MADE)
    await db[POSTINGS].insert_one(carry)
    _segments[seq] = decoded
    _trace_step(fold_trace.CARRY_WRITTEN)
    return FoldDone(folded_terms, sorted(changed), seq, decoded)


class FolderProcessGone(Exception):
    """The folder's process ended (or could not start) during a fold (fold_process)."""


# Set by fold_process when the API folds in a process of its own: (live segments to fold, the new carry's
# seq, the documents this process wrote since the last fold, whether it dropped its copies) -> FoldDone.
FoldElsewhere = Callable[[list[int], int, list[str], bool], Awaitable[FoldDone]]
_fold_elsewhere: FoldElsewhere | None = None


def take_turn_after(written_elsewhere: Collection[str], dropped_elsewhere: bool) -> None:
    """In the folder's process, before a fold: forget the copies of what the API wrote since the last
    fold (all of them when the API dropped its own; `WrittenCopies.written_since_handover`)."""
    if dropped_elsewhere:
        _written.clear()
    else:
        _written.forget(written_elsewhere)


def drop_written_copies() -> None:
    """After a failed fold in the folder's process: some of what it wrote may differ from its copies."""
    _written.clear()


def fold_in(elsewhere: FoldElsewhere | None) -> None:
    """Have the segment folder's merges and writes done by `elsewhere` (None: in this process)."""
    global _fold_elsewhere
    _fold_elsewhere = elsewhere
    _written.hands_over = elsewhere is not None
    _written.written_since_handover()  # from now on


async def _fold_into_heads(db: Database, removes: dict[str, dict[int, int]], adds: dict[str, dict[int, Posting]],
                           bump: bool) -> tuple[set[str], int | None, list[int]]:
    """Merge every live segment (but a carry that holds none of the batch's terms) into the heads, with a
    batch's own removals and additions, in one `_file_terms` (under `_fold_lock`), the rare terms' postings
    into a new carry instead (carried_terms), then take those segments off the live list, the new carry
    on, and delete them. Returns the heads changed (written, and those of the segments' terms), the
    generation if `bump` bumped it (and told this process's copies and cache), and the live list after."""
    global _fold_yielded
    async with _fold_lock:
        _trace_step(fold_trace.STARTED)
        numbers = list(await _writer_live(db))
        await segments_of(db, numbers)
        batch_terms = {*removes, *adds}
        if batch_terms:
            # A batch folding its own changes leaves a carry that holds none of their terms for the folder:
            # rewriting it per batch of edits would cost megabytes each.
            numbers = [n for n in numbers
                       if not (n in _segments and _segments[n].carry and batch_terms.isdisjoint(_segments[n].by_term))]
        elsewhere = _fold_elsewhere if not batch_terms else None
        if elsewhere is not None:
            # The folder's process (fold_process) does the merge and the writes; the carry's seq is taken
            # here, as every seq is: FerretDB's `$inc` reads, modifies and replaces, so two processes
            # taking seqs at once could take the same one.
            carry_seq = await _take_seqs(db, 1)
            try:
                done = await elsewhere(numbers, carry_seq, *_written.written_since_handover())
            except FolderProcessGone:
                # It may have written some documents before it ended: this process's copies of them are
                # stale, and the fold, done here now, starts from the store (a fold run again after a
                # crash files each posting once).
                _written.clear()
                done = await merge_and_file(db, numbers, removes, adds, carry_seq)
            else:
                _trace_step(fold_trace.TAKEN_BACK)
                _written.forget(done.changed)
                _fold_yielded += done.waited_seconds
                if done.carry_number is not None and done.carry is not None:
                    _segments[done.carry_number] = done.carry
        else:
            done = await merge_and_file(db, numbers, removes, adds)
        carry = [] if done.carry_number is None else [done.carry_number]
        changed = {*done.changed, *(head_id(t) for t in done.folded_terms)}
        generation: int | None = None
        if numbers or bump:
            async with _live_lock:
                gone_numbers = set(numbers)
                live = carry + [n for n in await _writer_live(db) if n not in gone_numbers]
                generation = await _set_live(db, live, bump)
                if generation is not None:  # the folder's own bump: tell the copies and the cache now
                    _written.bumped_to(generation)
                    _cache.changed_here(changed, generation, live)
        live = list(_live or ())
        _trace_step(fold_trace.LIVE_LIST_WRITTEN)
        if numbers:
            # Resting like the fold's other writes (`_write_postings`): these deletes, the old carry's
            # megabyte among them, sent four commands at once, were the store's one writer ahead of the
            # requests' for some 100 ms at the end of every fold.
            rest = _fold_rest.get()
            if rest is not None:
                rest.left = min(rest.left, FOLD_END_REST_MAX_SECONDS)
            await _write_postings(db, [DeleteOne({"_id": segment_id(n)}) for n in numbers])
            for number in numbers:
                _segments.pop(number, None)
        _trace_step(fold_trace.SEGMENTS_DELETED)
        return changed, generation, live


async def fold_live_segments(db: Database, at_least: int, idle_seconds: float, rest: float = 0.0,
                             yield_above: int = 0) -> int:
    """The segment folder's run: merge the live segments into the heads when they hold `at_least`
    listings, or when no segment was added for `idle_seconds` (so a quiet catalogue ends with none but
    the carry, which alone is never folded: "batch segments"). Returns how many listings it folded.
    Reads nothing when this process knows no segment but the carry is live. `rest`: after each group of
    store calls, pause for that share of the time the group took, then wait while the process serves more
    than `yield_above` requests (`_fold_rest`)."""
    if _live is not None and not _live:
        return 0
    live = await _writer_live(db)
    await segments_of(db, live)
    count = live_listings()
    # Rest only while the folder keeps up: once twice the threshold waits, publishing outruns the resting
    # folder, and each fold would grow (a 24,000-pair run at full speed left 17,645 listings live, and
    # requests then stalled for seconds), so it folds at full speed until it has caught up.
    behind = count >= FOLD_BEHIND_AT * at_least
    # The folder's task's own context: nothing else sees it.
    rest_this_fold(0.0 if behind else rest, yield_above, at_least)
    # A listed segment that could not be read (one of an older layout) is dropped from the list by a fold.
    unreadable = any(n not in _segments for n in live)
    if not unreadable and (count == 0 or (count < at_least and seconds_since_last_segment() < idle_seconds)):
        return 0
    try:
        await _fold_into_heads(db, {}, {}, bump=True)
    except BaseException:
        _written.clear()
        _cache.changed_here()
        raise
    return count


class WrittenCopies:
    """The read-model documents the indexer last wrote (postings, filing documents), as it wrote them.

    The indexer is the read model's one writer, so what it wrote is what the store holds, and a batch
    need not read again the documents the previous batch rewrote: the head of every common term with
    its tail (up to TAIL_MAX postings), the documents its last move of a tail wrote, the filing
    documents of listings published and then changed. Kept while only this process has moved the
    generation counter: a batch reads it first (one `_id` read) and drops every copy when anyone else
    moved it (a `refile-search`, a test writing the store directly), and any failed batch drops them
    too. This process's bumps (a batch's, the segment folder's) are made one at a time under
    `_live_lock`, so each is one more than the last; a batch's read may be one of them already
    overtaken by a fold's bump, so any generation from `since` to the last bump is this process's own.
    Bounded by size, least recently used out first.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.generation: int | None = None
        self.since: int | None = None
        self._docs: OrderedDict[str, Document | None] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._bytes = 0
        # What this process wrote, and whether it dropped its copies, since the folder's process last
        # took its turn (`written_since_handover`); kept only while there is such a process.
        self.hands_over = False
        self._written_since: set[str] = set()
        self._dropped_since = False

    def clear(self) -> None:
        self._docs.clear()
        self._sizes.clear()
        self._bytes = 0
        self.generation = self.since = None
        self._written_since.clear()
        self._dropped_since = True

    def forget(self, ids: Collection[str]) -> None:
        """Drop the copies of these documents (another process wrote them)."""
        for doc_id in ids:
            if doc_id in self._docs:
                del self._docs[doc_id]
                self._bytes -= self._sizes.pop(doc_id)

    def written_since_handover(self) -> tuple[list[str], bool]:
        """The documents this process wrote since the last call, and whether it dropped its copies meanwhile
        (then the other process must drop all of its own: the generation moved, or a write failed). For
        the segment folder's process, whose copies go stale where this one wrote (fold_process)."""
        written, dropped = sorted(self._written_since), self._dropped_since
        self._written_since, self._dropped_since = set(), False
        return written, dropped

    def known_generation(self, generation: int) -> bool:
        """The generation as a batch finds it: the copies hold only if this process made it (False: they
        were dropped)."""
        if self.generation is None or self.since is None or not self.since <= generation <= self.generation:
            self.clear()
            self.generation = self.since = generation
            return False
        return True

    def bumped_to(self, generation: int) -> None:
        """The generation after a bump of this process's: one more than the last, unless someone else
        moved it too."""
        if self.generation is None or generation != self.generation + 1:
            self.clear()
            self.since = generation
        self.generation = generation

    async def read(self, db: Database, ids: Sequence[str]) -> list[Document | None]:
        missing = [i for i in dict.fromkeys(ids) if i not in self._docs]
        fetched = await _read_at_most(db, missing, READS_AT_ONCE)
        for doc_id, doc in zip(missing, fetched, strict=True):
            self._keep(doc_id, doc)
        out: list[Document | None] = []
        for doc_id in ids:
            if doc_id in self._docs:
                self._docs.move_to_end(doc_id)
                out.append(self._docs[doc_id])
            else:  # dropped again at once (larger than the whole budget): read it like the rest
                out.append(dict(zip(missing, fetched, strict=True)).get(doc_id))
        return out

    def put(self, doc_id: str, doc: Document | None) -> None:
        """A document as this process has just written it (None: deleted)."""
        if self.hands_over:
            self._written_since.add(doc_id)
        self._keep(doc_id, doc)

    def _keep(self, doc_id: str, doc: Document | None) -> None:
        if self.max_bytes <= 0:
            return
        size = 100 + sum(len(doc[f]) for f in ("d", "t") if doc and f in doc) + _stored_size(doc)
        if doc_id in self._docs:
            self._bytes -= self._sizes[doc_id]
        self._docs[doc_id] = doc
        self._docs.move_to_end(doc_id)
        self._sizes[doc_id] = size
        self._bytes += size
        while self._bytes > self.max_bytes and self._docs:
            old, _ = self._docs.popitem(last=False)
            self._bytes -= self._sizes.pop(old)


_written = WrittenCopies(64 * 1024 * 1024)


def configure_carry(below: int) -> None:
    """How many postings of a term the live segments must hold for a fold to write its head
    (`search_carry_below`; 1 carries nothing)."""
    global CARRY_BELOW
    CARRY_BELOW = below


def configure_cache(megabytes: int, check_seconds: float = 0.0) -> None:
    """Size of this process's read-model cache (0 turns it off: every search reads the store), and how
    long it trusts the generation it read when this process made no change meanwhile (ReadCache)."""
    global _cache
    _cache = ReadCache(megabytes * 1024 * 1024, check_seconds)


def posting_id(term: str, block: int | str) -> str:
    return f"p{LAYOUT}|{term}|{block}"


def head_id(term: str) -> str:
    return f"h{LAYOUT}|{term}"


def card_id(listing_id: str) -> str:
    """The listing's filing document, which holds its result card while it is searchable."""
    return f"c|{listing_id}"


def card(doc: Document) -> str:
    """The listing as search results show it, as one JSON string: FerretDB reads a document with one
    string value about twice as fast as the listing's own document with its many fields and arrays.
    Search answers it as stored (models.listing_page_json), so a change of ListingRead's fields is a
    change of LAYOUT: `refile-search` then writes every card again."""
    fields = {k: v for k, v in doc.items() if k in ListingRead.model_fields}
    return ListingRead(id=doc["_id"], **fields).model_dump_json()


def price_posting_id(term: str, cell: str) -> str:
    return f"q{LAYOUT}|{term}|{cell}"


def epoch_posting_id(term: str, epoch: str) -> str:
    """A rare term's postings of one epoch (search, "epoch documents")."""
    return f"e{LAYOUT}|{term}|{epoch}"


def older_layouts_pattern() -> str:
    """The ids of postings, heads and segments of the layouts before this one, which search never
    reads: without a number before layout 3, numbered since (layout 3 had price heads of their own,
    `hq3|`; segments came with layout 4, and a list naming one of an older layout finds none and is
    emptied by the next fold; epoch documents, `e`, came with layout 5). (FerretDB's regular expressions
    are Go's: no lookahead.)"""
    numbers = "|".join(str(n) for n in range(3, LAYOUT))
    return f"^(p|q|h|hq|s|e)({numbers})?\\|" if numbers else "^(p|q|h|hq|s|e)\\|"


def _documents_of(term: str, posting: Posting) -> tuple[tuple[str, str, bool], tuple[str, str, bool]]:
    """The two postings documents a posting of `term` moves to from the tail: (id, key in the head,
    by price) of its seq block's and of its price cell's."""
    block, cell = block_key(posting.seq), price_cell(posting.price, posting.seq)
    return (posting_id(term, block), block, False), (price_posting_id(term, cell), cell, True)


async def _unfile(db: Database, seq: int, terms: Sequence[str], price: int) -> None:
    """Take listing `seq`'s postings (filed at `price`) out of these terms, tails and documents alike
    (for tests that make the store as a crash or an older version left it)."""
    try:
        await _file_terms(db, {t: {seq: price} for t in terms}, {})
    finally:
        _written.clear()  # not the indexer's own batch: keep no copy of what it wrote


# The latest version this process marked per listing, while its marker stands: the indexer drops a
# marker by `_id` without reading it first when this process wrote it (every marker is written under
# the listing's lock, in the one process that writes listings; a marker found in the store that this
# process did not write, left by an earlier process or a bulk job, is read before it is dropped).
_marked: dict[str, int] = {}


async def mark_pending(db: Database, listing_id: str, version: int) -> None:
    """Note that the listing (at `version`, the version its change writes) is to be filed again.
    Called inside the listing's unit of work, before its write: a crash after the marker and before
    the write costs one needless re-filing; a crash after the write leaves the marker for the indexer."""
    marker = {"version": version, "at": datetime.now(UTC)}
    if listing_id not in _marked:
        # Most often the indexer has filed the listing and dropped its marker: an insert then costs
        # FerretDB half what an upsert does (the upsert looks the document up first; see
        # servicekit.outbox.mark_pending). One left by an earlier process is brought to this version below.
        try:
            await db[PENDING].insert_one({"_id": listing_id, **marker})
            _marked[listing_id] = version
            return
        except DuplicateKeyError:
            pass
    await db[PENDING].update_one({"_id": listing_id}, {"$set": marker}, upsert=True)
    _marked[listing_id] = version


async def pending(db: Database, limit: int) -> list[Document]:
    """Listings waiting to be filed. The marker collection holds only pending work (empty when idle),
    so reading it whole costs what is pending, not what the catalogue holds."""
    return [d async for d in db[PENDING].find({}).limit(limit)]


@dataclass
class _Plan:
    """What filing one listing again changes: postings to drop (old), to add (new), its card."""

    doc: Document
    old_seq: int | None
    old_terms: list[str]
    old_price: int
    old_layout: int | None
    counted_status: str | None
    searchable: bool
    new_terms: list[str]
    new_price: int
    seq: int | None = None

    @property
    def unchanged(self) -> bool:
        return (self.searchable and self.old_seq is not None and self.old_terms == self.new_terms
                and self.old_price == self.new_price and self.old_layout == LAYOUT)


def _plan(doc: Document, filed: Document | None) -> _Plan:
    """From the listing as stored and its filing document (None for a listing never filed since the
    filing documents came: what it is filed under is then still on the listing, `search_*`)."""
    searchable = doc["status"] == ListingStatus.PUBLISHED.value
    if filed is not None:
        old_seq, old_terms = filed.get("seq"), _split_terms(filed.get("terms"))
        old_price, old_layout, counted = filed.get("price"), filed.get("layout"), filed.get("status")
    else:
        old_seq, old_terms = doc.get("search_seq"), doc.get("search_terms") or []
        old_price, old_layout, counted = doc.get("search_price"), doc.get("search_layout"), doc.get("counted_status")
    return _Plan(doc, None if old_seq is None else int(old_seq), list(old_terms),
                 NEGOTIABLE if old_price is None else int(old_price), old_layout, counted, searchable,
                 listing_terms(doc) if searchable else [], listing_price(doc))


def _split_terms(joined: str | None) -> list[str]:
    return joined.split("\n") if joined else []


def filing_document(doc: Document, seq: int | None, terms: Sequence[str], price: int) -> Document:
    """A listing's filing document: what it is filed under and counted as, and its result card while it
    is searchable. Terms are one string (FerretDB decodes an array element by element, and search reads
    this document for the card)."""
    filed: Document = {"_id": card_id(doc["_id"]), "seq": seq, "terms": "\n".join(terms), "price": price,
                       "layout": LAYOUT, "status": doc["status"]}
    if doc["status"] == ListingStatus.PUBLISHED.value:
        filed["j"] = card(doc)
    return filed


async def reconcile_batch(db: Database, listing_ids: Sequence[str], stored_markers: Collection[str] = (),
                          known: Mapping[str, Document] | None = None, created: Collection[str] = ()) -> int:
    """Bring the postings, filing documents (cards) and status counts of these listings in line with the
    listings as stored now, in one pass (idempotent). Returns how many listings were filed.
    `stored_markers`: the listings among them whose markers were found in the store. `known`: listings
    as this process has just written them (not read again). `created`: listings among those that this
    process has just inserted, so that no filing document of theirs can exist yet (not read either).

    Batching is what makes publishing cheap: listings published around the same time share most of
    their terms, so each term's head (where new postings go, its tail) is read and written once per
    batch instead of once per listing, and the generation counter moves once. Postings are written
    first, then each listing's filing document (what it is filed under, its card), then the status
    counts move, then its marker goes (only if no newer change marked it meanwhile).
    """
    async with _write_lock:
        try:
            return await _reconcile(db, listing_ids, stored_markers, known or {}, created)
        except BaseException:
            # Some writes may have landed, some not: read the store again next time (the list of live
            # segments is dropped by `_set_live` itself when its write fails).
            _written.clear()
            _cache.changed_here()
            raise


async def _reconcile(db: Database, listing_ids: Sequence[str], stored_markers: Collection[str],
                     known: Mapping[str, Document], created: Collection[str]) -> int:
    ids = list(dict.fromkeys(listing_ids))

    async def listing(listing_id: str) -> Document | None:
        return known[listing_id] if listing_id in known else await db[LISTINGS].find_one({"_id": listing_id})

    async def filing_documents() -> list[Document | None]:
        found = dict(zip(unfiled := [i for i in ids if i not in created],
                         await _written.read(db, [card_id(i) for i in unfiled]), strict=True))
        return [found.get(i) for i in ids]

    # The listings, the generation and the filing documents side by side (those the copies hold taken
    # from them, and read again in the rare case that the generation says the copies are stale).
    found, generation, filed_all = await asyncio.gather(
        asyncio.gather(*(listing(i) for i in ids)),
        db[POSTINGS].find_one({"_id": GENERATION_ID}), filing_documents())
    if not _written.known_generation(int((generation or {}).get("n", 0))):
        filed_all = await filing_documents()
    filings = [f for f, doc in zip(filed_all, found, strict=True) if doc is not None]
    # A marker without its listing: the create it preceded never happened (a replayed or failed POST).
    await asyncio.gather(*(_drop_marker(db, i, None, i in stored_markers)
                           for i, doc in zip(ids, found, strict=True) if doc is None))
    plans = [_plan(doc, filed) for doc, filed in zip((d for d in found if d is not None), filings, strict=True)]
    fresh = [p for p in plans if not p.unchanged and p.searchable and p.old_seq is None]
    first = await _take_seqs(db, len(fresh)) if fresh else 0
    for offset, plan in enumerate(fresh):
        # A listing returning to the market (or newly published) counts as new for "newest".
        plan.seq = first + offset
    # Per term: the seqs to take out (with the price they were filed at, which names their price cell)
    # and the postings to add.
    removes: dict[str, dict[int, int]] = {}
    adds: dict[str, dict[int, Posting]] = {}
    for plan in plans:
        if plan.unchanged:
            plan.seq = plan.old_seq
            continue
        if plan.old_seq is not None and plan.old_terms:
            for term in plan.old_terms:
                removes.setdefault(term, {})[plan.old_seq] = plan.old_price
        if plan.searchable:
            plan.seq = plan.old_seq if plan.seq is None else plan.seq
            assert plan.seq is not None
            posting = posting_of(plan.doc, plan.seq)
            for term in plan.new_terms:
                adds.setdefault(term, {})[plan.seq] = posting
        else:
            plan.seq = None
    # New listings only (what publishing is): one segment. Anything that takes postings out, or files a
    # listing again under its old seq, goes to the heads, with every live segment folded in first.
    new_seqs = {p.seq for p in fresh}
    live: list[int] | None = None
    if not removes and all(seq in new_seqs for by_seq in adds.values() for seq in by_seq):
        written = await _add_segment(db, first, adds) if adds else set()
    else:
        written, _, live = await _fold_into_heads(db, removes, adds, bump=False)
    filed = [filing_document(p.doc, p.seq, p.new_terms, p.new_price) for p in plans]
    await _write_filings(db, filed, never_filed={card_id(p.doc["_id"]) for p, f in zip(plans, filings, strict=True)
                                                 if f is None})
    for filing in filed:
        _written.put(filing["_id"], filing)
    counts: dict[str, int] = {}
    for plan in plans:
        before, after = plan.counted_status, plan.doc["status"]
        if before == after:
            continue
        if before:
            counts[f"counts.{before}"] = counts.get(f"counts.{before}", 0) - 1
        counts[f"counts.{after}"] = counts.get(f"counts.{after}", 0) + 1
    # After the writes: a cache that saw the old generation re-reads what changed (this process's
    # cache drops just what was written, ReadCache.changed_here). The status counts
    # move at the same time (they follow the filing documents, which say what each listing counts as).
    # Under `_live_lock`, so that this process's bumps (this and the folder's) reach the copies and the
    # cache in the order they were made.
    async with _live_lock:
        bumped, _ = await asyncio.gather(
            db[POSTINGS].find_one_and_update({"_id": GENERATION_ID}, {"$inc": {"n": 1}}, upsert=True,
                                             return_document=ReturnDocument.AFTER),
            db[COUNTERS].update_one({"_id": STATUS_COUNTS_ID}, {"$inc": counts}, upsert=True) if counts
            else _nothing())
        now_at = int((bumped or {}).get("n", 0))
        _written.bumped_to(now_at)
        _cache.changed_here(written | {f["_id"] for f in filed}, now_at, _live if live is None else live)
    await _drop_markers(db, [(p.doc["_id"], int(p.doc["version"])) for p in plans], stored_markers)
    return len(plans)


async def _write_filings(db: Database, filed: Sequence[Document], never_filed: Collection[str]) -> None:
    """Write a batch's filing documents: those of listings never filed (`never_filed`, their ids: just
    created, or none found when read) inserted, the others replaced. FerretDB answers an upsert of a
    document that is not there by looking for it first and then inserting it: 1.7-3.2 times the store's
    CPU of an insert (`tests.benchmarks.store_writes`, README "Thirty-eighth session"), and every listing
    is filed first as the draft its create made. (On MongoDB either is one statement.) Should one be
    there after all (another API replica filed it meanwhile), its insert is refused as a duplicate and
    the whole batch is written again as replaces, which leaves the same documents as replacing them at
    once would have."""
    def replace(filing: Document) -> ReplaceOne[Document]:
        return ReplaceOne({"_id": filing["_id"]}, filing, upsert=True)

    writes: list[InsertOne[Document] | ReplaceOne[Document]] = [
        InsertOne(f) if f["_id"] in never_filed else replace(f) for f in filed]
    try:
        await bulk_write_in_batches(db[POSTINGS], writes, per_command=WRITE_COMMAND, at_once=WRITES_AT_ONCE)
    except BulkWriteError as refused:
        if not only_duplicates(refused):
            raise
        await bulk_write_in_batches(db[POSTINGS], [replace(f) for f in filed],
                                    per_command=WRITE_COMMAND, at_once=WRITES_AT_ONCE)


async def _nothing() -> None:
    return None


async def _drop_marker(db: Database, listing_id: str, filed_version: int | None, in_store: bool) -> None:
    """Drop the listing's marker unless a change newer than the one filed (`filed_version`; None: the
    listing does not exist) marked it meanwhile. Under the listing's lock, which every marking change
    holds. A marker this process wrote is decided from memory; one found in the store otherwise is read."""
    async with PROCESS_LOCKS.hold(LISTINGS, listing_id):
        latest = _marked.get(listing_id)
        if latest is None and in_store:
            marker = await db[PENDING].find_one({"_id": listing_id})
            latest = None if marker is None else int(marker.get("version", 0))
            if latest is None:
                return
        if latest is None or (filed_version is not None and latest > filed_version):
            return  # no marker (a create, woken in memory only), or a newer change is still to be filed
        await db[PENDING].delete_one({"_id": listing_id})
        _marked.pop(listing_id, None)


async def _drop_markers(db: Database, filed: Sequence[tuple[str, int]], stored_markers: Collection[str]) -> None:
    """`_drop_marker` for every listing of a batch (id, version filed), in bulk: a few delete commands
    rather than a delete per listing. Each group's locks are held from the decision to the delete (taken
    in id order; every other writer holds one listing's lock at a time)."""
    # Without a lock first: a listing with no marker this process knows of (a draft woken by its create)
    # or one marked again since (a newer change, filed by a later batch) needs nothing, and a change
    # marking it meanwhile wakes the indexer again. Waiting for the lock of a listing being published
    # right now held up whole batches.
    def may_have_marker(listing_id: str, version: int) -> bool:
        latest = _marked.get(listing_id)
        return latest <= version if latest is not None else listing_id in stored_markers

    filed = [(i, v) for i, v in filed if may_have_marker(i, v)]
    group_size = WRITE_COMMAND * WRITES_AT_ONCE
    for start in range(0, len(filed), group_size):
        group = sorted(filed[start:start + group_size])
        async with contextlib.AsyncExitStack() as held:
            for listing_id, _version in group:
                await held.enter_async_context(PROCESS_LOCKS.hold(LISTINGS, listing_id))
            doomed: list[str] = []
            for listing_id, version in group:
                latest = _marked.get(listing_id)
                if latest is None and listing_id in stored_markers:
                    marker = await db[PENDING].find_one({"_id": listing_id})
                    latest = None if marker is None else int(marker.get("version", 0))
                if latest is not None and latest <= version:
                    doomed.append(listing_id)
            await bulk_write_in_batches(db[PENDING], [DeleteOne({"_id": i}) for i in doomed],
                                        per_command=WRITE_COMMAND, at_once=WRITES_AT_ONCE)
            for listing_id in doomed:
                _marked.pop(listing_id, None)


async def _take_seqs(db: Database, count: int) -> int:
    """Reserve `count` consecutive search seqs; returns the first."""
    doc = await db[POSTINGS].find_one_and_update({"_id": SEQ_ID}, {"$inc": {"n": count}}, upsert=True,
                                                 return_document=True)
    assert doc is not None
    return int(doc["n"]) - count + 1


# The longest a batch's or a fold's computation holds the event loop before it gives the requests a turn.
TURN_SECONDS = 0.005


class _Turns:
    """Gives the requests of the process a turn between steps of a long computation once it has held the
    event loop for TURN_SECONDS: a fold files thousands of terms and documents, and when it yielded
    every 64 steps the loop was held for tens of milliseconds at a time, a step's cost varying a
    hundredfold (a rare term's head against a cell document of 2,000 postings; README, "Thirtieth
    session"). A turn does not wait for a lull in the requests as the folder's store calls do: tried,
    and the folder fell behind (README, "Thirty-second session")."""

    def __init__(self) -> None:
        self.since = time.monotonic()

    async def take(self) -> None:
        if time.monotonic() - self.since >= TURN_SECONDS:
            await asyncio.sleep(0)
            self.since = time.monotonic()


async def _file_terms(db: Database, removes: dict[str, dict[int, int]], adds: dict[str, bytes]) -> set[str]:
    """Apply a batch's removals (per term, seq -> the price it was filed at) and additions (per term, its
    packed records in seq order, one per seq: search.packed_by_term), reading
    (unless the indexer holds it as it wrote it) and writing each head and postings document at most
    once. A tail that only gains postings newer than all it holds (what publishing and folding
    segments do) has them appended to its packed value, without decoding it.

    Additions go to the term's tail, in its head. A removal takes the seq out of the tail and out of
    the documents it may have moved to, its block's, price cell's and epoch's (read, and written only if
    it was there: after a failed batch a posting may be in two). A tail longer than TAIL_MAX after the
    batch moves to its documents: its epoch documents when it spans SPREAD_SEQS seqs or more (a
    rare term's; search.py), else its block and cell documents. Documents are written before heads, so
    whatever write fails a search finds every posting once (a tail moved to documents whose head write
    failed is read twice, and the same seq in a document and its tail counts once, search.intersect)
    and a head names every document with postings (one it names that lost them costs a search one
    read).
    Returns the ids of the documents it wrote (postings and heads)."""
    terms = list(dict.fromkeys([*removes, *adds]))
    heads = dict(zip(terms, await _written.read(db, [head_id(t) for t in terms]), strict=True))
    turns = _Turns()
    tails: dict[str, bytes] = {}
    # Postings documents to change: what leaves and what arrives, and (term, key, by price) of each;
    # an epoch document's key is its epoch, and its by-price None.
    leaving: dict[str, set[int]] = {}
    arriving: dict[str, bytes] = {}
    documents: dict[str, tuple[str, str, bool | None]] = {}
    for term in terms:
        await turns.take()
        head = heads[term]
        stored = bytes(head["t"]) if head is not None and "t" in head else b""
        gone, added = removes.get(term, {}), adds.get(term, b"")
        if not gone and (not added or seq_in_row(added, 0) > newest_seq(stored)):
            tail = stored + added
        else:
            new_postings = unpack(added)
            replaced = {p.seq for p in new_postings}
            tail = pack([p for p in unpack(stored) if p.seq not in gone and p.seq not in replaced] + new_postings)
        for seq, price in gone.items():
            # Its epoch's document too, named by the head or not: one a failed batch wrote but did not
            # name may hold it, and a later move there would name it again.
            for doc_id, key, by_price in (*_documents_of(term, Posting(seq, price, "")),
                                          (epoch_posting_id(term, epoch_key(seq)), epoch_key(seq), None)):
                leaving.setdefault(doc_id, set()).add(seq)
                documents[doc_id] = (term, key, by_price)
        if len(tail) > TAIL_MAX * RECORD.size:
            # A tail holds each seq once (a listing filed again replaces its record), so each of its
            # documents gets its records once.
            if spread_out(record_seqs(tail)):
                for epoch, records in records_by_epoch(tail).items():
                    doc_id = epoch_posting_id(term, epoch)
                    arriving[doc_id] = records
                    documents[doc_id] = (term, epoch, None)
            else:
                by_block, by_cell = records_by_document(tail)
                for block, records in by_block.items():
                    arriving[posting_id(term, block)] = records
                    documents[posting_id(term, block)] = (term, block, False)
                for cell, records in by_cell.items():
                    arriving[price_posting_id(term, cell)] = records
                    documents[price_posting_id(term, cell)] = (term, cell, True)
            tail = b""
        tails[term] = tail
    ids = list(documents)
    ops: list[UpdateOne | DeleteOne] = []
    new: dict[str, Document | None] = {}
    # Per term, the keys whose documents now hold postings, and those now empty.
    holding: dict[str, set[tuple[str, bool]]] = {}
    emptied: dict[str, set[tuple[str, bool]]] = {}
    # Per term and epoch document written, the blocks and cells it holds postings in now.
    spread: dict[str, dict[str, tuple[set[str], set[str]]]] = {}
    for doc_id, doc in zip(ids, await _written.read(db, ids), strict=True):
        await turns.take()
        stored = bytes(doc["d"]) if doc is not None else b""
        dropping, adding = leaving.get(doc_id, set()), arriving.get(doc_id, b"")
        if not dropping and set(record_seqs(adding)).isdisjoint(record_seqs(stored)):
            packed = stored + adding  # moving a tail: appended without decoding
        else:
            current, new_postings = unpack(stored), unpack(adding)
            replaced = {p.seq for p in new_postings}
            kept = [p for p in current if p.seq not in dropping and p.seq not in replaced] + new_postings
            if not adding and len(kept) == len(current):
                continue  # nothing of ours was there
            packed = pack(kept)
        term, key, by_price = documents[doc_id]
        if by_price is None:
            spread.setdefault(term, {})[key] = record_keys(packed)
        if packed:
            value = Binary(packed)
            new[doc_id] = {"_id": doc_id, "d": value}
            ops.append(UpdateOne({"_id": doc_id}, {"$set": {"d": value}}, upsert=True))
            if by_price is not None:
                holding.setdefault(term, set()).add((key, by_price))
        else:
            new[doc_id] = None
            ops.append(DeleteOne({"_id": doc_id}))
            if by_price is not None:
                emptied.setdefault(term, set()).add((key, by_price))
    head_ops: list[ReplaceOne[Document] | DeleteOne] = []
    new_heads: dict[str, Document | None] = {}
    for term in terms:
        await turns.take()
        head = heads[term] or {}
        sets = {False: set((head.get("b") or "").split()), True: set((head.get("q") or "").split())}
        for key, by_price in holding.get(term, ()):
            sets[by_price].add(key)
        for key, by_price in emptied.get(term, ()):
            sets[by_price].discard(key)
        spread_blocks, spread_cells = set((head.get("e") or "").split()), set((head.get("f") or "").split())
        for epoch, (blocks_there, cells_there) in spread.get(term, {}).items():
            spread_blocks = {b for b in spread_blocks if epoch_of(b, False) != epoch} | blocks_there
            spread_cells = {c for c in spread_cells if epoch_of(c, True) != epoch} | cells_there
        now = (joined_keys(sets[False]), joined_keys(sets[True]), tails[term], joined_keys(spread_blocks),
               joined_keys(spread_cells))
        if now == (head.get("b") or "", head.get("q") or "", bytes(head.get("t") or b""), head.get("e") or "",
                   head.get("f") or ""):
            continue
        blocks, cells, tail, spread_b, spread_c = now
        doc_id = head_id(term)
        if any(now):
            replacement: Document = {"_id": doc_id, "b": blocks, "q": cells, "t": Binary(tail)}
            if spread_b:  # only a rare term's head has these (and then both)
                replacement |= {"e": spread_b, "f": spread_c}
            new_heads[doc_id] = replacement
            head_ops.append(ReplaceOne({"_id": doc_id}, replacement, upsert=True))
        else:
            new_heads[doc_id] = None
            head_ops.append(DeleteOne({"_id": doc_id}))
    await _write_postings(db, ops)
    for doc_id, written_doc in new.items():
        _written.put(doc_id, written_doc)
    await _write_postings(db, head_ops)
    for doc_id, written_doc in new_heads.items():
        _written.put(doc_id, written_doc)
    return {*new, *new_heads}


async def status_counts(db: Database) -> dict[str, int]:
    """Listings by status, as counted by the indexer (one `_id` read)."""
    doc = await db[COUNTERS].find_one({"_id": STATUS_COUNTS_ID})
    return {str(k): int(v) for k, v in ((doc or {}).get("counts") or {}).items()}


async def mark_all_published_for_refiling(db: Database) -> int:
    """A bulk job, never on a timer: after a change of LAYOUT, drop the older layouts' postings and heads
    and mark every published listing filed under an older layout (or not filed at all), so the indexer
    files it again. Scans the read model and the published listings once each (run it from the command
    line: `python -m trading refile-search`). Until the indexer has filed them again, searches find only
    the listings already filed under this layout."""
    await db[POSTINGS].delete_many({"_id": {"$regex": older_layouts_pattern()}})
    await db[POSTINGS].update_one({"_id": GENERATION_ID}, {"$inc": {"n": 1}}, upsert=True)
    layouts = {str(d["_id"])[2:]: d.get("layout")
               async for d in db[POSTINGS].find({"_id": {"$regex": "^c\\|"}}, {"layout": 1})}
    marked = 0
    async for doc in db[LISTINGS].find({"status": ListingStatus.PUBLISHED.value}, {"version": 1, "search_layout": 1}):
        # A listing without a filing document may still be filed the old way, on the listing itself.
        if layouts.get(doc["_id"], doc.get("search_layout")) != LAYOUT:
            await mark_pending(db, doc["_id"], int(doc["version"]))
            marked += 1
    return marked


async def recount_statuses(db: Database) -> dict[str, int]:
    """A bulk job, never on a timer: count listings by status from the listings themselves and set the
    counters (repairs the drift a crash between a stamp and its count can leave). Scans once."""
    cursor = await db[LISTINGS].aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}])
    counts = {str(d["_id"]): int(d["n"]) async for d in cursor}
    await db[COUNTERS].replace_one({"_id": STATUS_COUNTS_ID}, {"counts": counts}, upsert=True)
    return counts


# --- queries ----------------------------------------------------------------------------------------


async def _heads(db: Database, terms: Sequence[str]) -> dict[str, TermHead]:
    return dict(zip(terms, await _cache.heads(db, terms), strict=True))


def _shared_keys(groups: list[list[str]], heads: dict[str, TermHead], by_price: bool) -> set[str]:
    """The blocks (or cells) where every group has a term with postings: the only ones worth reading."""
    keys: set[str] | None = None
    for group in groups:
        union = {k for t in group for k in heads[t].keys(by_price)}
        keys = union if keys is None else keys & union
    return keys or set()


class _SearchReads:
    """The postings documents one search (or candidates call) has read, each read once: an epoch
    document serves every block and cell of the term in its epoch, and with the cache off (or after it
    dropped the document) each block's read of it went to the store again."""

    def __init__(self, groups: list[list[str]], heads: dict[str, TermHead], by_price: bool) -> None:
        self.groups, self.heads, self.by_price = groups, heads, by_price
        self.terms = list(dict.fromkeys(t for g in groups for t in g))
        self.document_of = price_posting_id if by_price else posting_id
        self.own: dict[str, PostingBlock | None] = {}
        self.epochs: dict[str, SplitPostings] = {}

    def _epoch_document(self, term: str, key: str) -> str:
        return epoch_posting_id(term, epoch_of(key, self.by_price))

    async def read(self, db: Database, keys: Sequence[str]) -> None:
        """Read, in one go, the documents these blocks (or cells) need that this search has not read."""
        own = [self.document_of(t, k) for k in keys for t in self.terms if k in self.heads[t].stored(self.by_price)]
        epochs = [self._epoch_document(t, k) for k in keys for t in self.terms
                  if k in self.heads[t].spread(self.by_price)]
        own = [i for i in dict.fromkeys(own) if i not in self.own]
        epochs = [i for i in dict.fromkeys(epochs) if i not in self.epochs]
        read_own, read_epochs = await asyncio.gather(_cache.postings(db, own), _cache.epochs(db, epochs))
        self.own.update(zip(own, read_own, strict=True))
        self.epochs.update(zip(epochs, read_epochs, strict=True))

    def matches_in(self, key: str, keep: RecordFilter | None = None) -> list[Posting]:
        """The postings of one block (or cell), read before, that satisfy every group and the record
        filter: each term's are its document's there, its epoch document's part there and its tail's (OR
        inside a group also unites those)."""
        def parts(term: str) -> tuple[PostingBlock, PostingBlock, PostingBlock]:
            head = self.heads[term]
            own = self.own.get(self.document_of(term, key)) if key in head.stored(self.by_price) else None
            in_epoch = (self.epochs.get(self._epoch_document(term, key), EMPTY_SPLIT).part(key, self.by_price)
                        if key in head.spread(self.by_price) else EMPTY_BLOCK)
            return own or EMPTY_BLOCK, in_epoch, head.tail_in(key, self.by_price)

        return intersect([[block for t in g for block in parts(t)] for g in self.groups], keep)


async def search(db: Database, query: SearchQuery) -> tuple[list[Posting], bool]:
    """One page of postings in the query's order, and whether more follow.

    The read is planned as *stages* in the query's order (a seq block, or every cell of one price
    bucket), each one's postings sorting wholly before the next stage's; so once the stages read hold
    more than a page, the page is final. Stages are read one, then two, four... per round trip: a
    broad query is done after the first, a narrow one needs few round trips.
    """
    await _cache.validate(db)
    stages: list[list[str]]
    groups = query.groups()
    heads = await _heads(db, [t for g in groups for t in g])
    by_price = is_price_order(query.sort)
    if by_price:
        allowed = query.buckets()
        by_bucket: dict[str, list[str]] = {}
        for cell in sorted(_shared_keys(groups, heads, by_price)):
            if allowed is None or cell_bucket(cell) in allowed:
                by_bucket.setdefault(cell_bucket(cell), []).append(cell)
        stages = [by_bucket[b] for b in bucket_order(query.sort, by_bucket)
                  if bucket_can_follow(query.sort, b, query.after)]
    else:
        blocks = block_order(query.sort, [int(k) for k in _shared_keys(groups, heads, by_price)])
        stages = [[str(b)] for b in blocks if block_can_follow(query.sort, b, query.after)]
    found: list[tuple[tuple[int, ...], Posting]] = []
    keep = query.record_filter()
    reads = _SearchReads(groups, heads, by_price)
    start, size = 0, 1
    while start < len(stages) and len(found) <= query.limit:
        keys = [k for stage in stages[start:start + size] for k in stage]
        start, size = start + size, min(size * 2, MAX_STAGES_PER_ROUND)
        await reads.read(db, keys)
        for k in keys:
            for posting in reads.matches_in(k, keep):
                key = sort_key(query.sort, posting)
                if query.after is not None and key <= query.after:
                    continue
                found.append((key, posting))
    found.sort(key=lambda kp: kp[0])
    page = [p for _, p in found[:query.limit]]
    return page, len(found) > query.limit


async def candidates(db: Database, terms: Sequence[str], limit: int) -> list[str]:
    """Listing ids filed under ANY of `terms`, newest first, at most `limit` (for matchmaking)."""
    groups = [list(dict.fromkeys(terms))]
    await _cache.validate(db)
    heads = await _heads(db, groups[0])
    blocks = block_order(SearchSort.NEWEST, [int(k) for k in _shared_keys(groups, heads, False)])
    out: dict[str, None] = {}
    reads = _SearchReads(groups, heads, False)
    for block in blocks:
        await reads.read(db, [str(block)])
        for posting in sorted(reads.matches_in(str(block)), key=lambda p: -p.seq):
            out[posting.listing_id] = None
        if len(out) >= limit:
            break
    return list(out)[:limit]


def postings_for_bulk_load(filed: Sequence[tuple[Document, int]]) -> list[Document]:
    """Posting, head and filing documents for already-published listings, each with the search seq it
    is filed under, built in memory as the indexer would file them (the benchmark loads 100,000
    listings this way instead of one write per term): per term, in seq order, the postings that fill
    whole tails of TAIL_MAX + 1 in their documents (each such tail in its epoch documents when it spans
    SPREAD_SEQS seqs or more, as a move decides), the rest in the head's tail, a state the indexer
    reaches when each of its batches adds one posting per term."""
    by_term: dict[str, list[Posting]] = {}
    filings: list[Document] = []
    for doc, seq in sorted(filed, key=lambda ds: ds[1]):
        terms, price = listing_terms(doc), listing_price(doc)
        posting = posting_of(doc, seq)
        for term in terms:
            by_term.setdefault(term, []).append(posting)
        filings.append(filing_document(doc, seq, terms, price))
    documents: dict[str, list[Posting]] = {}
    heads: list[Document] = []
    for term, postings in by_term.items():
        moved = len(postings) - len(postings) % (TAIL_MAX + 1)
        keys: dict[bool, set[str]] = {False: set(), True: set()}
        spread: dict[bool, set[str]] = {False: set(), True: set()}
        for start in range(0, moved, TAIL_MAX + 1):
            tail = postings[start:start + TAIL_MAX + 1]
            to_epochs = spread_out([p.seq for p in tail])
            for posting in tail:
                if to_epochs:
                    documents.setdefault(epoch_posting_id(term, epoch_key(posting.seq)), []).append(posting)
                    spread[False].add(block_key(posting.seq))
                    spread[True].add(price_cell(posting.price, posting.seq))
                    continue
                for doc_id, key, by_price in _documents_of(term, posting):
                    documents.setdefault(doc_id, []).append(posting)
                    keys[by_price].add(key)
        head = {"_id": head_id(term), "b": joined_keys(keys[False]), "q": joined_keys(keys[True]),
                "t": Binary(pack(postings[moved:]))}
        if spread[False]:
            head |= {"e": joined_keys(spread[False]), "f": joined_keys(spread[True])}
        heads.append(head)
    return [{"_id": k, "d": Binary(pack(v))} for k, v in documents.items()] + heads + filings


async def cards(db: Database, listing_ids: Sequence[str]) -> dict[str, str]:
    """The result cards of these listings (those still searchable) as stored, ListingRead JSON, by _id
    reads."""
    found = await _cache.read(db, [card_id(i) for i in listing_ids])
    return {i: d["j"] for i, d in zip(listing_ids, found, strict=True) if d and "j" in d}
