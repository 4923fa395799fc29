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
from collections.abc import Sequence

from bson import Binary
from pymongo import UpdateOne
from servicekit.mongo import Database, Document

from trading.listings.domain import ListingStatus
from trading.listings.locks import listing_locks
from trading.listings.models import ListingRead
from trading.listings.search import (
    BLOCK_SIZE,
    NEGOTIABLE,
    Posting,
    SearchQuery,
    block_can_follow,
    block_order,
    intersect,
    listing_terms,
    sort_key,
    stops_early,
)

log = logging.getLogger(__name__)

POSTINGS = "listing_postings"
LISTINGS = "listings"  # the listings collection (listings/store.py owns it)
SEQ_ID = "seq"
# The most blocks a newest/oldest search reads in one round trip (it starts with one and doubles).
MAX_BLOCKS_PER_ROUND = 8

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
    cache). Bounded by approximate size, least recently used out first.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.generation: int | None = None
        self._docs: OrderedDict[str, Document | None] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._bytes = 0

    async def validate(self, db: Database) -> None:
        if self.max_bytes <= 0:
            return
        doc = await db[POSTINGS].find_one({"_id": GENERATION_ID})
        generation = int(doc["n"]) if doc else 0
        if generation != self.generation:
            self._docs.clear()
            self._sizes.clear()
            self._bytes = 0
            self.generation = generation

    async def read(self, db: Database, ids: Sequence[str]) -> list[Document | None]:
        known: dict[str, Document | None] = {}
        for doc_id in dict.fromkeys(ids):
            if doc_id in self._docs:
                self._docs.move_to_end(doc_id)
                known[doc_id] = self._docs[doc_id]
        missing = [i for i in dict.fromkeys(ids) if i not in known]
        fetched = await asyncio.gather(*(db[POSTINGS].find_one({"_id": i}) for i in missing))
        for doc_id, doc in zip(missing, fetched, strict=True):
            known[doc_id] = doc
            if self.max_bytes > 0:
                self._put(doc_id, doc)
        return [known[i] for i in ids]

    def _put(self, doc_id: str, doc: Document | None) -> None:
        size = 100 + (len(doc["d"]) if doc and "d" in doc else 0) + (len(doc["j"]) if doc and "j" in doc else 0)
        if doc_id in self._docs:
            self._bytes -= self._sizes[doc_id]
        self._docs[doc_id] = doc
        self._sizes[doc_id] = size
        self._bytes += size
        while self._bytes > self.max_bytes and len(self._docs) > 1:
            old, _ = self._docs.popitem(last=False)
            self._bytes -= self._sizes.pop(old)


_cache = ReadCache(64 * 1024 * 1024)


def configure_cache(megabytes: int) -> None:
    """Size of this process's read-model cache; 0 turns it off (every search reads the store)."""
    global _cache
    _cache = ReadCache(megabytes * 1024 * 1024)


def posting_id(term: str, block: int) -> str:
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


async def _rewrite(db: Database, seq: int, terms: Sequence[str], adding: Posting | None) -> None:
    """Remove `seq` from (and, when `adding`, add that posting to) the term's block of `seq`."""
    block = seq // BLOCK_SIZE
    docs = await asyncio.gather(*(db[POSTINGS].find_one({"_id": posting_id(t, block)}) for t in terms))
    ops: list[UpdateOne] = []
    for term, doc in zip(terms, docs, strict=True):
        current = unpack(bytes(doc["d"])) if doc is not None else []
        kept = [p for p in current if p.seq != seq]
        if adding is not None:
            kept.append(adding)
        delta = len(kept) - len(current)
        if delta == 0 and adding is None:
            continue
        ops.append(UpdateOne({"_id": posting_id(term, block)}, {"$set": {"d": Binary(pack(kept))}}, upsert=True))
        if delta:
            ops.append(UpdateOne({"_id": head_id(term)}, {"$inc": {f"b.{block}": delta}}, upsert=True))
    if ops:
        await db[POSTINGS].bulk_write(ops, ordered=False)


async def _add(db: Database, seq: int, terms: Sequence[str], price: int, listing_id: str) -> None:
    await _rewrite(db, seq, terms, Posting(seq, price, listing_id))


async def _remove(db: Database, seq: int, terms: Sequence[str]) -> None:
    await _rewrite(db, seq, terms, None)


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
        unchanged = searchable and old_seq is not None and old_terms == new_terms and old_price == new_price
        if not unchanged:
            if old_seq is not None and old_terms:
                await _remove(db, old_seq, old_terms)
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
        async with listing_locks().hold(LISTINGS, listing_id):
            await db[LISTINGS].update_one(
                {"_id": listing_id, "version": doc["version"]},
                {"$set": {"search_seq": seq, "search_terms": new_terms, "search_price": new_price,
                          "search_pending": False}})


async def reconcile_pending(db: Database) -> int:
    """Repair listings whose postings a crash left behind (a scan; runs in the background)."""
    ids = [d["_id"] async for d in db[LISTINGS].find({"search_pending": True}, {"_id": 1})]
    for listing_id in ids:
        await reconcile(db, listing_id)
    return len(ids)


# --- queries ----------------------------------------------------------------------------------------


async def _heads(db: Database, terms: Sequence[str]) -> dict[str, dict[int, int]]:
    docs = await _cache.read(db, [head_id(t) for t in terms])
    out: dict[str, dict[int, int]] = {}
    for term, doc in zip(terms, docs, strict=True):
        counts = (doc or {}).get("b") or {}
        out[term] = {int(b): int(n) for b, n in counts.items() if int(n) > 0}
    return out


async def _block_postings(db: Database, groups: list[list[str]], block: int,
                          present: dict[str, dict[int, int]]) -> list[Posting]:
    wanted = [t for g in groups for t in g if block in present[t]]
    docs = await _cache.read(db, [posting_id(t, block) for t in wanted])
    by_term: dict[str, list[Posting]] = {}
    for term, doc in zip(wanted, docs, strict=True):
        if doc is not None:
            by_term[term] = unpack(bytes(doc["d"]))
    return intersect([[by_term.get(t, []) for t in g] for g in groups])


async def search(db: Database, query: SearchQuery) -> tuple[list[Posting], bool]:
    """One page of postings in the query's order, and whether more follow."""
    groups = query.groups()
    await _cache.validate(db)
    present = await _heads(db, [t for g in groups for t in g])
    blocks: set[int] | None = None
    for group in groups:
        union = {b for t in group for b in present[t]}
        blocks = union if blocks is None else blocks & union
    ordered = [b for b in block_order(query.sort, sorted(blocks or ())) if block_can_follow(query.sort, b, query.after)]
    found: list[tuple[tuple[int, ...], Posting]] = []
    # Seq orders read one block, then two, four...: a broad query is done after the first, a narrow one
    # needs few round trips. Price orders need every candidate block anyway, so they read them at once.
    size = 1 if stops_early(query.sort) else max(len(ordered), 1)
    start = 0
    while start < len(ordered):
        rounds = await asyncio.gather(*(_block_postings(db, groups, b, present)
                                        for b in ordered[start:start + size]))
        start += size
        size = min(size * 2, MAX_BLOCKS_PER_ROUND) if stops_early(query.sort) else size
        for postings in rounds:
            for posting in postings:
                if not query.price_ok(posting.price):
                    continue
                key = sort_key(query.sort, posting)
                if query.after is not None and key <= query.after:
                    continue
                found.append((key, posting))
        if stops_early(query.sort) and len(found) > query.limit:
            break
    found.sort(key=lambda kp: kp[0])
    page = [p for _, p in found[:query.limit]]
    return page, len(found) > query.limit


async def candidates(db: Database, terms: Sequence[str], limit: int) -> list[str]:
    """Listing ids filed under ANY of `terms`, newest first, at most `limit` (for matchmaking)."""
    groups = [list(dict.fromkeys(terms))]
    await _cache.validate(db)
    present = await _heads(db, groups[0])
    blocks = sorted({b for t in groups[0] for b in present[t]}, reverse=True)
    out: dict[str, None] = {}
    for block in blocks:
        for posting in sorted(await _block_postings(db, groups, block, present), key=lambda p: -p.seq):
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
        seq = int(doc["search_seq"])
        block = seq // BLOCK_SIZE
        for term in doc["search_terms"]:
            postings.setdefault(posting_id(term, block), []).append(
                Posting(seq, int(doc["search_price"]), doc["_id"]))
            counts = heads.setdefault(head_id(term), {})
            counts[str(block)] = counts.get(str(block), 0) + 1
    return ([{"_id": k, "d": Binary(pack(v))} for k, v in postings.items()]
            + [{"_id": k, "b": v} for k, v in heads.items()]
            + [{"_id": card_id(d["_id"]), "j": card(d)} for d in listings])


async def cards(db: Database, listing_ids: Sequence[str]) -> dict[str, ListingRead]:
    """The result cards of these listings (those still searchable), by _id reads."""
    found = await _cache.read(db, [card_id(i) for i in listing_ids])
    return {i: ListingRead.model_validate_json(d["j"]) for i, d in zip(listing_ids, found, strict=True) if d}
