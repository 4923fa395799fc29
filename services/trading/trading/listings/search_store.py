"""Store access of the search read model (see search.py for its design). Every read and write here is
by exact `_id`, the only filter FerretDB 1.x answers from an index.

Who writes it: the process that changes listings (the API), right after the listing's own update,
under one process-wide lock, because FerretDB applies an update as read-modify-replace and two writers
of one posting document could lose one of them. The listing document carries `search_pending: true`
from the same single-document update that changed it until its postings are in line, so a crash in
between is repaired by `reconcile_pending` (run at API start-up and every few seconds).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bson import Binary
from pymongo import UpdateOne
from servicekit import aggregates
from servicekit.mongo import Database, Document, bulk_write_in_batches

from trading.listings.aggregate import LISTING
from trading.listings.domain import ListingStatus
from trading.listings.models import ListingRead
from trading.listings.search import (
    BLOCK_SIZE,
    LAYOUT,
    NEGOTIABLE,
    Posting,
    SearchQuery,
    SearchSort,
    block_can_follow,
    block_order,
    bucket_can_follow,
    bucket_order,
    cell_bucket,
    intersect,
    is_price_order,
    listing_terms,
    price_cell,
    price_terms,
    sort_key,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

POSTINGS = "listing_postings"
LISTINGS = LISTING.collection
SEQ_ID = "seq"
# The most stages (seq blocks, or price buckets) a search reads in one round trip (it starts with one and
# doubles).
MAX_STAGES_PER_ROUND = 8

# One posting: search seq, price in fen (NEGOTIABLE when none), listing id (at most 32 ASCII bytes).
# Packed into one binary value per document: FerretDB decodes array elements one by one (about 4 us
# each, so a 2048-posting block as arrays took 25 ms to read) but a binary value in one piece (3 ms).
RECORD = struct.Struct(">Iq32s")

_write_lock = asyncio.Lock()
GENERATION_ID = "generation"


class ReadCache:
    """Read-model documents this process has read, kept while the read model's generation is unchanged.

    Every change to the read model bumps one counter document (`generation`) after its writes; a search
    reads that one document first and drops the cache when it moved. So a repeated or overlapping query
    costs one `_id` read instead of dozens, every process stays coherent with every writer, and a change
    is visible to the next search (a search racing a change may miss it by milliseconds, as without the
    cache). Postings are kept decoded, so a popular block (a deal type's, a province's) is unpacked
    once, not per query. Bounded by approximate size, least recently used out first.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.generation: int | None = None
        self._values: OrderedDict[str, Any] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._bytes = 0

    async def validate(self, db: Database) -> None:
        if self.max_bytes <= 0:
            return
        doc = await db[POSTINGS].find_one({"_id": GENERATION_ID})
        generation = int(doc["n"]) if doc else 0
        if generation != self.generation:
            self._values.clear()
            self._sizes.clear()
            self._bytes = 0
            self.generation = generation

    async def read(self, db: Database, ids: Sequence[str]) -> list[Document | None]:
        """Documents as stored (heads, cards)."""
        return await self._through(db, ids, _as_stored, _stored_size)

    async def postings(self, db: Database, ids: Sequence[str]) -> list[dict[int, Posting] | None]:
        """Postings documents, decoded to seq -> posting."""
        return await self._through(db, ids, _decoded, _decoded_size)

    async def _through(self, db: Database, ids: Sequence[str], decode: Callable[[Document | None], T],
                       size_of: Callable[[T], int]) -> list[T]:
        known: dict[str, T] = {}
        for doc_id in dict.fromkeys(ids):
            if doc_id in self._values:
                self._values.move_to_end(doc_id)
                known[doc_id] = self._values[doc_id]
        missing = [i for i in dict.fromkeys(ids) if i not in known]
        fetched = await asyncio.gather(*(db[POSTINGS].find_one({"_id": i}) for i in missing))
        for doc_id, doc in zip(missing, fetched, strict=True):
            value = known[doc_id] = decode(doc)
            if self.max_bytes > 0:
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


def _as_stored(doc: Document | None) -> Document | None:
    return doc


def _stored_size(doc: Document | None) -> int:
    return 100 + (len(doc["j"]) if doc and "j" in doc else 0) + 16 * len((doc or {}).get("b") or ())


def _decoded(doc: Document | None) -> dict[int, Posting] | None:
    return None if doc is None else {p.seq: p for p in unpack(bytes(doc["d"]))}


def _decoded_size(postings: dict[int, Posting] | None) -> int:
    return 100 + 200 * len(postings or ())  # a Posting, its id string and the dict slot: about 200 bytes


_cache = ReadCache(64 * 1024 * 1024)


def configure_cache(megabytes: int) -> None:
    """Size of this process's read-model cache; 0 turns it off (every search reads the store)."""
    global _cache
    _cache = ReadCache(megabytes * 1024 * 1024)


def posting_id(term: str, block: int | str) -> str:
    return f"p|{term}|{block}"


def head_id(term: str) -> str:
    return f"h|{term}"


def card_id(listing_id: str) -> str:
    return f"c|{listing_id}"


def card(doc: Document) -> str:
    """The listing as search results show it, as one JSON string: FerretDB reads a document with one
    string value about twice as fast as the listing's own document with its many fields and arrays."""
    fields = {k: v for k, v in doc.items() if k in ListingRead.model_fields}
    return ListingRead(id=doc["_id"], **fields).model_dump_json()


async def _next_seq(db: Database) -> int:
    doc = await db[POSTINGS].find_one_and_update({"_id": SEQ_ID}, {"$inc": {"n": 1}}, upsert=True,
                                                 return_document=True)
    assert doc is not None
    return int(doc["n"])


def pack(postings: Sequence[Posting]) -> bytes:
    return b"".join(RECORD.pack(p.seq, p.price, p.listing_id.encode()) for p in postings)


def unpack(blob: bytes) -> list[Posting]:
    return [Posting(seq, price, raw.rstrip(b"\0").decode()) for seq, price, raw in RECORD.iter_unpack(blob)]


def price_posting_id(term: str, cell: str) -> str:
    return f"q|{term}|{cell}"


def price_head_id(term: str) -> str:
    return f"hq|{term}"


@dataclass(frozen=True)
class _Slot:
    """Where one posting of a listing is filed: its postings document and the head entry counting it."""
    doc_id: str
    head_id: str
    head_key: str


def _slots(seq: int, terms: Sequence[str], price: int) -> list[_Slot]:
    """Every document a listing's postings live in: by seq block for every term, and by price cell."""
    block = seq // BLOCK_SIZE
    cell = price_cell(price, seq)
    return ([_Slot(posting_id(t, block), head_id(t), str(block)) for t in terms]
            + [_Slot(price_posting_id(t, cell), price_head_id(t), cell) for t in price_terms(terms)])


async def _rewrite(db: Database, seq: int, slots: Sequence[_Slot], adding: Posting | None) -> None:
    """Remove `seq` from (and, when `adding`, add that posting to) each slot's postings document."""
    docs = await asyncio.gather(*(db[POSTINGS].find_one({"_id": s.doc_id}) for s in slots))
    ops: list[UpdateOne] = []
    for slot, doc in zip(slots, docs, strict=True):
        current = unpack(bytes(doc["d"])) if doc is not None else []
        kept = [p for p in current if p.seq != seq]
        if adding is not None:
            kept.append(adding)
        delta = len(kept) - len(current)
        if delta == 0 and adding is None:
            continue
        ops.append(UpdateOne({"_id": slot.doc_id}, {"$set": {"d": Binary(pack(kept))}}, upsert=True))
        if delta:
            ops.append(UpdateOne({"_id": slot.head_id}, {"$inc": {f"b.{slot.head_key}": delta}}, upsert=True))
    await bulk_write_in_batches(db[POSTINGS], ops)


async def _add(db: Database, seq: int, terms: Sequence[str], price: int, listing_id: str) -> None:
    await _rewrite(db, seq, _slots(seq, terms, price), Posting(seq, price, listing_id))


async def _remove(db: Database, seq: int, terms: Sequence[str], price: int) -> None:
    await _rewrite(db, seq, _slots(seq, terms, price), None)


def _price(doc: Document) -> int:
    price = doc.get("price_fen")
    return NEGOTIABLE if price is None else int(price)


async def reconcile(db: Database, listing_id: str) -> None:
    """Bring the postings of one listing in line with the listing as stored now (idempotent)."""
    async with _write_lock:
        doc = await db[LISTINGS].find_one({"_id": listing_id})
        if doc is None:
            return
        old_seq: int | None = doc.get("search_seq")
        old_terms: list[str] = doc.get("search_terms") or []
        old_price: int | None = doc.get("search_price")
        searchable = doc["status"] == ListingStatus.PUBLISHED.value
        new_terms = listing_terms(doc) if searchable else []
        new_price = _price(doc)
        seq = old_seq
        unchanged = (searchable and old_seq is not None and old_terms == new_terms and old_price == new_price
                     and doc.get("search_layout") == LAYOUT)
        if not unchanged:
            if old_seq is not None and old_terms:
                await _remove(db, old_seq, old_terms, NEGOTIABLE if old_price is None else old_price)
            if searchable:
                # A listing returning to the market (or newly published) counts as new for "newest".
                seq = old_seq if old_seq is not None else await _next_seq(db)
                await _add(db, seq, new_terms, new_price, listing_id)
            else:
                seq = None
        if searchable:
            await db[POSTINGS].replace_one({"_id": card_id(listing_id)}, {"j": card(doc)}, upsert=True)
        else:
            await db[POSTINGS].delete_one({"_id": card_id(listing_id)})
        # After the writes: a cache that saw the old generation re-reads what changed.
        await db[POSTINGS].update_one({"_id": GENERATION_ID}, {"$inc": {"n": 1}}, upsert=True)
        # Guarded by the version we indexed: if the listing changed meanwhile, it stays pending and the
        # caller of that change reconciles again.
        async with aggregates.change(db, LISTING, listing_id) as unit:
            if unit.version == doc["version"]:
                await unit.write({"$set": {"search_seq": seq, "search_terms": new_terms, "search_price": new_price,
                                           "search_layout": LAYOUT, "search_pending": False}},
                                 bump_version=False)


async def reconcile_pending(db: Database) -> int:
    """Repair listings whose postings a crash left behind, and file again the published listings filed
    under an older LAYOUT (a scan; runs in the background)."""
    behind = {"$or": [{"search_pending": True},
                      {"status": ListingStatus.PUBLISHED.value, "search_layout": {"$ne": LAYOUT}}]}
    ids = [d["_id"] async for d in db[LISTINGS].find(behind, {"_id": 1})]
    for listing_id in ids:
        await reconcile(db, listing_id)
    return len(ids)


# --- queries ----------------------------------------------------------------------------------------


async def _heads(db: Database, terms: Sequence[str], head_of: Callable[[str], str]) -> dict[str, dict[str, int]]:
    """Per term, the blocks (or price cells) it has postings in, with their counts."""
    docs = await _cache.read(db, [head_of(t) for t in terms])
    out: dict[str, dict[str, int]] = {}
    for term, doc in zip(terms, docs, strict=True):
        counts = (doc or {}).get("b") or {}
        out[term] = {key: int(n) for key, n in counts.items() if int(n) > 0}
    return out


def _shared_keys(groups: list[list[str]], present: dict[str, dict[str, int]]) -> set[str]:
    """The blocks (or cells) where every group has a term with postings: the only ones worth reading."""
    keys: set[str] | None = None
    for group in groups:
        union = {k for t in group for k in present[t]}
        keys = union if keys is None else keys & union
    return keys or set()


async def _matches_in(db: Database, groups: list[list[str]], present: dict[str, dict[str, int]], key: str,
                      document_of: Callable[[str, str], str]) -> list[Posting]:
    """The postings of one block (or cell) that satisfy every group."""
    wanted = [t for g in groups for t in g if key in present[t]]
    by_term = dict(zip(wanted, await _cache.postings(db, [document_of(t, key) for t in wanted]), strict=True))
    return intersect([[by_term.get(t) or {} for t in g] for g in groups])


async def search(db: Database, query: SearchQuery) -> tuple[list[Posting], bool]:
    """One page of postings in the query's order, and whether more follow.

    The read is planned as *stages* in the query's order (a seq block, or every cell of one price
    bucket), each one's postings sorting wholly before the next stage's; so once the stages read hold
    more than a page, the page is final. Stages are read one, then two, four... per round trip: a
    broad query is done after the first, a narrow one needs few round trips.
    """
    await _cache.validate(db)
    stages: list[list[str]]
    document_of: Callable[[str, str], str]
    if is_price_order(query.sort):
        groups = query.price_groups()
        present = await _heads(db, [t for g in groups for t in g], price_head_id)
        allowed = query.buckets()
        by_bucket: dict[str, list[str]] = {}
        for cell in sorted(_shared_keys(groups, present)):
            if allowed is None or cell_bucket(cell) in allowed:
                by_bucket.setdefault(cell_bucket(cell), []).append(cell)
        stages = [by_bucket[b] for b in bucket_order(query.sort, by_bucket)
                  if bucket_can_follow(query.sort, b, query.after)]
        document_of = price_posting_id
    else:
        groups = query.groups()
        present = await _heads(db, [t for g in groups for t in g], head_id)
        blocks = block_order(query.sort, [int(k) for k in _shared_keys(groups, present)])
        stages = [[str(b)] for b in blocks if block_can_follow(query.sort, b, query.after)]
        document_of = posting_id
    found: list[tuple[tuple[int, ...], Posting]] = []
    start, size = 0, 1
    while start < len(stages) and len(found) <= query.limit:
        keys = [k for stage in stages[start:start + size] for k in stage]
        start, size = start + size, min(size * 2, MAX_STAGES_PER_ROUND)
        for postings in await asyncio.gather(*(_matches_in(db, groups, present, k, document_of) for k in keys)):
            for posting in postings:
                if not query.price_ok(posting.price):
                    continue
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
    present = await _heads(db, groups[0], head_id)
    blocks = block_order(SearchSort.NEWEST, [int(k) for k in _shared_keys(groups, present)])
    out: dict[str, None] = {}
    for block in blocks:
        for posting in sorted(await _matches_in(db, groups, present, str(block), posting_id), key=lambda p: -p.seq):
            out[posting.listing_id] = None
        if len(out) >= limit:
            break
    return list(out)[:limit]


def postings_for_bulk_load(listings: Sequence[Document]) -> list[Document]:
    """Posting and head documents for already-published listings with their `search_*` fields set,
    built in memory (the benchmark loads 100,000 listings this way instead of one write per term)."""
    postings: dict[str, list[Posting]] = {}
    heads: dict[str, dict[str, int]] = {}
    for doc in sorted(listings, key=lambda d: int(d["search_seq"])):
        seq, price = int(doc["search_seq"]), int(doc["search_price"])
        for slot in _slots(seq, doc["search_terms"], price):
            postings.setdefault(slot.doc_id, []).append(Posting(seq, price, doc["_id"]))
            counts = heads.setdefault(slot.head_id, {})
            counts[slot.head_key] = counts.get(slot.head_key, 0) + 1
    return ([{"_id": k, "d": Binary(pack(v))} for k, v in postings.items()]
            + [{"_id": k, "b": v} for k, v in heads.items()]
            + [{"_id": card_id(d["_id"]), "j": card(d)} for d in listings])


async def cards(db: Database, listing_ids: Sequence[str]) -> dict[str, ListingRead]:
    """The result cards of these listings (those still searchable), by _id reads."""
    found = await _cache.read(db, [card_id(i) for i in listing_ids])
    return {i: ListingRead.model_validate_json(d["j"]) for i, d in zip(listing_ids, found, strict=True) if d}
