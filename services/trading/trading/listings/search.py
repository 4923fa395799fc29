"""The search read model's rules (pure): which terms a published listing is filed under, how a query
becomes groups of terms, how results are ordered, and how cursors encode a position.

Why a read model of our own: FerretDB 1.x answers only an exact `{_id: value}` filter from an index;
any other filter (including `$in` on `_id`) is evaluated in Go over the whole collection, which at
100,000 listings costs far more than the 50 ms a search may take. So every search read is an `_id`
read: an inverted index whose documents are keyed by term and block.

- A *term* is `kw:<token>` (title and abstract tokens, see tokens.py), `ipc:<level>` (every level of
  every IPC code: H, H01, H01M, H01M10, H01M10/0525), `ind:<industry>`, `reg:<code>` (province, city
  and the code itself), `deal:<deal type>`, and `all` (every published listing).
- Each published listing gets a *search sequence number* (`seq`, growing with publication). Seqs are
  grouped in *blocks* of BLOCK_SIZE. The postings of one term in one block are one document
  `p4|<term>|<block>` holding them as one packed binary value (RECORD; the 4 is the LAYOUT, so a
  change of shape starts from documents of its own).
- A term's *head* `h4|<term>` names the blocks (and price cells, below) that have a postings document,
  so a query only reads blocks where every term occurs, and holds the term's *tail*: its newest
  postings (at most TAIL_MAX), not yet moved to their blocks' documents. Why a tail: each indexer
  batch used to rewrite the newest block document of every term it touched (up to 2,048 postings,
  some 90 KB, and FerretDB reads, decodes and rewrites a document whole for any update) and created
  four documents (block, price cell and their two heads) for every term seen for the first time, such
  as a listing's own rare words. Now a batch writes one small head per term it touches, and a term's
  postings move to their documents once per TAIL_MAX. A rare term lives in its head alone. Every
  search reads the heads of its terms anyway, so the tail costs it no extra read.
- Each posting carries the listing's price, region code and deal types besides its seq, so the broad
  filters (a province, deal types, a price range) are checked on the postings a query reads anyway
  (*record filters*, SearchQuery.record_filter) instead of reading their postings, which are among
  the largest documents (a province or a deal type holds a share of every block): at 100,000
  listings, "keyword + city + deal type" with the cache off took p95 98.5 ms when it read them. They
  are read as terms only when a query has nothing else to read. A city or county stays a term: its
  documents are small, and the intersection walks its few postings.
- A query is groups of terms: AND between groups, OR inside a group (several deal types). Blocks are
  read in sort order, newest first by default, and the search stops as soon as a page is full, so a
  broad query reads one or two blocks and a narrow one reads only the few blocks its rarest term
  occurs in. A block's postings of a term are its document's and the tail's in that block.
- Price order has postings of its own, because in seq blocks the cheapest match may sit in any block
  (reading them all cost 130-170 ms at 100,000 listings). The same postings are filed a second time
  by *price cell*: the listing's price bucket and its *epoch* (seq // EPOCH_SIZE, a coarse seq range
  that keeps a cell's document bounded however large the catalogue grows), in documents
  `q4|<term>|<bucket>:<epoch>`, named in the same head, which serves the same tail by cell. A
  price-ordered query walks the buckets cheapest (or dearest) first, reads only that bucket's cells,
  sorts them exactly, and stops as soon as the buckets it has finished hold a full page: buckets
  never overlap, so nothing later can come earlier. Negotiable listings are bucket `n`, after every
  priced bucket in both directions.
- A term in few listings has its moved postings in *epoch documents* instead, `e6|<term>|<epoch>`:
  all its postings of one epoch, serving its blocks and its price cells there alike (a search slices
  the document by seq block or by cell, SplitPostings). Why: a tail of TAIL_MAX postings of a rare
  term spans many blocks and cells (a term in one listing in 300 spreads them over some 40 blocks and
  as many cells), so moving it to block and cell documents rewrote dozens of documents for a few
  postings each, most of a fold's writes; and the folds' store work is what sets the requests' tail
  latency (README, "Twenty-ninth session" and "Thirtieth session"). A move whose postings span
  SPREAD_SEQS seqs or more goes to epoch documents (one to three per move); a denser one, as
  before, to blocks and cells, whose documents an epoch document of a dense term would outgrow. The
  head names the blocks and cells its epoch documents hold postings in (`e`, `f`), so a search reads an
  epoch document only where the term has postings, like a block's.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Any, NamedTuple

from trading.listings.tokens import tokens
from trading.patents.identifiers import ipc_levels
from trading.patents.regions import region_levels

# The shape of the read model's documents, part of their ids. Bump it when that shape changes and run
# `python -m trading refile-search`: it drops the older layout's documents and marks every published
# listing, which the indexer files again (2: price cells; 3: region and deal types in the postings;
# 4: one head per term, holding the term's newest postings; 5: epoch documents of rare terms; 6: listing
# ids in 11 bytes instead of 32).
LAYOUT = 6
BLOCK_SIZE = 2048
EPOCH_SIZE = 16 * BLOCK_SIZE  # seqs per price-cell epoch
# The most postings a head's tail holds: when a batch leaves more, they move to their documents. A
# batch rewrites the head of every term it touches, so a larger tail costs every batch more (and every
# search reads heads); a smaller one moves postings, rewriting the large block and cell documents,
# more often. 256 postings are some 7 KB.
TAIL_MAX = 256
# A tail that moves with its postings spread over this many seqs or more goes to the term's epoch
# documents (a rare term's, fewer than one listing in 32; see above), so an epoch document holds some
# 1,000 postings at most (256 per 8,192 seqs of an epoch's 32,768), half a full block document. A term
# denser than that keeps block and cell documents: an epoch document of a common word would hold most
# of the word's epoch, which a search reads whole (with the cache off) to take one block or cell from
# it. Half this line (4,096 seqs), with the epoch documents cut lazily (SplitPostings), cost searches
# little but saved the folds nothing measurable (README, "Thirtieth session", "Thirty-first session").
SPREAD_SEQS = 4 * BLOCK_SIZE
NEGOTIABLE = -1  # the price stored in postings for "negotiable"
ALL = "all"

# Price buckets in fen on a 1-2-5 series from 100 yuan (1e4 fen) to 50 billion yuan.
PRICE_BOUNDS: tuple[int, ...] = (0, *(m * 10 ** e for e in range(4, 13) for m in (1, 2, 5)))


class SearchSort(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"


def price_bucket(price_fen: int | None) -> str:
    return "n" if price_fen is None else str(_priced_bucket(price_fen))


def _priced_bucket(price_fen: int) -> int:
    """The last bound at or below the price (bucket 0 below the first): called for every posting a head
    or a fold decodes, so a search rather than a walk over all 28 bounds."""
    return max(bisect_right(PRICE_BOUNDS, price_fen) - 1, 0)


def price_cell(price: int, seq: int) -> str:
    """The price cell a posting is filed under (`price` is NEGOTIABLE when none)."""
    return f"{price_bucket(None if price == NEGOTIABLE else price)}:{seq // EPOCH_SIZE}"


def block_key(seq: int) -> str:
    """The block a posting is filed under, as heads and document ids spell it."""
    return str(seq // BLOCK_SIZE)


def cell_bucket(cell: str) -> str:
    return cell.split(":", 1)[0]


def epoch_key(seq: int) -> str:
    """The epoch document a posting of a rare term moves to (its seq's epoch)."""
    return str(seq // EPOCH_SIZE)


def epoch_of(key: str, by_price: bool) -> str:
    """The epoch of a block (`by_price` False) or of a price cell, as epoch documents are keyed."""
    return key.split(":", 1)[1] if by_price else str(int(key) * BLOCK_SIZE // EPOCH_SIZE)


def spread_out(seqs: Collection[int]) -> bool:
    """Whether a moving tail goes to epoch documents: its postings' seqs span SPREAD_SEQS or more."""
    return bool(seqs) and max(seqs) - min(seqs) >= SPREAD_SEQS


# Deal types as bits of a posting's `deals` byte. Explicit, not by the enum's order: stored postings
# keep these values (a new deal type takes a new bit, and a test checks every deal type has one).
DEAL_BITS: dict[str, int] = {"assignment": 1, "exclusive_licence": 2, "sole_licence": 4, "ordinary_licence": 8,
                             "open_licence": 16}


def deal_bits(deal_types: Iterable[str]) -> int:
    bits = 0
    for deal in deal_types:
        bits |= DEAL_BITS[deal]
    return bits


def region_number(code: str) -> int:
    """A GB/T 2260 code (six digits) as the number a posting stores."""
    return int(code)


def is_province(code: str) -> bool:
    return code.endswith("0000")


def in_region(query_code: int, region: int) -> bool:
    """Whether a listing in `region` is found by a search for `query_code`: the code itself, its city
    or its province (search terms `reg:`, patents.regions.region_levels)."""
    return query_code in (region, region - region % 100, region - region % 10000)


def buckets_for_range(low: int | None, high: int | None) -> list[str]:
    """The buckets that can hold a price in [low, high] (negotiable listings have no price: excluded)."""
    out = []
    for i, bound in enumerate(PRICE_BOUNDS):
        upper = PRICE_BOUNDS[i + 1] - 1 if i + 1 < len(PRICE_BOUNDS) else None
        if high is not None and bound > high:
            break
        if low is not None and upper is not None and upper < low:
            continue
        out.append(str(i))
    return out


def listing_terms(doc: Mapping[str, Any]) -> list[str]:
    """Every term a published listing is filed under (distinct, stable order)."""
    terms: dict[str, None] = {ALL: None}
    for token in tokens(f"{doc['title']} {doc.get('abstract') or ''}"):
        terms[f"kw:{token}"] = None
    for code in doc.get("ipc_codes") or ():
        for level in ipc_levels(code):
            terms[f"ipc:{level}"] = None
    terms[f"ind:{doc['industry']}"] = None
    for level in region_levels(doc["region_code"]):
        terms[f"reg:{level}"] = None
    for deal in doc["deal_types"]:
        terms[f"deal:{deal}"] = None
    return list(terms)


@dataclass(frozen=True)
class SearchQuery:
    keywords: tuple[str, ...] = ()         # tokens, all required
    ipc_prefix: str | None = None          # compact level, e.g. H01M10
    industry: str | None = None
    region_code: str | None = None
    deal_types: tuple[str, ...] = ()       # any of
    price_min: int | None = None
    price_max: int | None = None
    sort: SearchSort = SearchSort.NEWEST
    after: tuple[int, ...] | None = None   # the sort key of the last item of the previous page
    limit: int = 20

    def groups(self) -> list[list[str]]:
        """The terms whose postings are read: AND of ORs. The broad filters, a province, deal types and
        the price range, are checked on those postings instead (`record_filter`), and read as terms only
        when nothing else is: the province, else the deal types, else `all`. A city or county is
        narrow, so it is read as a term: the intersection then walks its few postings."""
        groups: list[list[str]] = [[f"kw:{t}"] for t in self.keywords]
        if self.ipc_prefix:
            groups.append([f"ipc:{self.ipc_prefix}"])
        if self.industry:
            groups.append([f"ind:{self.industry}"])
        if self.region_code and not is_province(self.region_code):
            groups.append([f"reg:{self.region_code}"])
        if groups:
            return groups
        if self.region_code:
            return [[f"reg:{self.region_code}"]]
        if self.deal_types:
            return [[f"deal:{d}" for d in self.deal_types]]
        return [[ALL]]

    def record_filter(self) -> RecordFilter | None:
        """The region, deal-type and price checks on a posting's record (price, region, deal bits),
        or None when the query has none. Checked on every posting a search keeps, even where a term
        group already implies it (cheap, and one rule for every query)."""
        if not (self.region_code or self.deal_types) and self.price_min is None and self.price_max is None:
            return None
        region = region_number(self.region_code) if self.region_code else None
        wanted_deals = deal_bits(self.deal_types) if self.deal_types else None
        priced = self.price_min is not None or self.price_max is not None

        def keep(price: int, in_code: int, deals: int) -> bool:
            if priced and not self.price_ok(price):
                return False
            if region is not None and not in_region(region, in_code):
                return False
            return wanted_deals is None or bool(deals & wanted_deals)

        return keep

    def buckets(self) -> set[str] | None:
        """The buckets a price-ordered query may read (None: all of them, negotiable included)."""
        if self.price_min is None and self.price_max is None:
            return None
        return set(buckets_for_range(self.price_min, self.price_max))

    def price_ok(self, price: int) -> bool:
        if self.price_min is None and self.price_max is None:
            return True
        if price == NEGOTIABLE:
            return False
        return (self.price_min is None or price >= self.price_min) and (
            self.price_max is None or price <= self.price_max)


# A search's checks on a posting's record: (price, region code, deal bits) -> keep it.
RecordFilter = Callable[[int, int, int], bool]


class Posting(NamedTuple):
    """One listing filed under one term. A named tuple, not a frozen dataclass: a search that reads a
    block it has not cached decodes up to 2,048 of these, and a tuple is made some 2.5 times faster."""

    seq: int
    price: int  # NEGOTIABLE when none
    listing_id: str
    region: int = 0  # GB/T 2260 code as a number (region_number)
    deals: int = 0  # deal types as DEAL_BITS


def listing_price(doc: Mapping[str, Any]) -> int:
    """The price a listing is filed at: its price in fen, NEGOTIABLE when it has none."""
    price = doc.get("price_fen")
    return NEGOTIABLE if price is None else int(price)


def posting_of(doc: Mapping[str, Any], seq: int) -> Posting:
    """The posting a published listing is filed under, in every one of its terms' documents."""
    return Posting(seq, listing_price(doc), doc["_id"], region_number(doc["region_code"]),
                   deal_bits(doc["deal_types"]))


_LAST = 1 << 62  # sorts negotiable prices after every real one


def sort_key(sort: SearchSort, posting: Posting) -> tuple[int, ...]:
    """Ascending key of a posting in the given order; the cursor is the last key of a page."""
    if sort == SearchSort.NEWEST:
        return (-posting.seq,)
    if sort == SearchSort.OLDEST:
        return (posting.seq,)
    if posting.price == NEGOTIABLE:
        return (_LAST, -posting.seq)
    return (posting.price if sort == SearchSort.PRICE_ASC else -posting.price, -posting.seq)


def block_order(sort: SearchSort, blocks: Sequence[int]) -> list[int]:
    return sorted(blocks, reverse=sort != SearchSort.OLDEST)


def block_can_follow(sort: SearchSort, block: int, after: tuple[int, ...] | None) -> bool:
    """Whether a seq block can hold anything after the cursor of a newest/oldest page."""
    if after is None:
        return True
    if sort == SearchSort.NEWEST:
        return block * BLOCK_SIZE < -after[0]
    if sort == SearchSort.OLDEST:
        return (block + 1) * BLOCK_SIZE - 1 > after[0]
    return True


def is_price_order(sort: SearchSort) -> bool:
    return sort in (SearchSort.PRICE_ASC, SearchSort.PRICE_DESC)


def bucket_order(sort: SearchSort, buckets: Collection[str]) -> list[str]:
    """Priced buckets cheapest (or dearest) first, then the negotiable bucket."""
    priced = sorted((int(b) for b in buckets if b != "n"), reverse=sort == SearchSort.PRICE_DESC)
    return [str(b) for b in priced] + (["n"] if "n" in buckets else [])


def bucket_can_follow(sort: SearchSort, bucket: str, after: tuple[int, ...] | None) -> bool:
    """Whether a bucket can hold anything after the cursor of a price-ordered page."""
    if after is None:
        return True
    if after[0] == _LAST:  # the cursor is already among the negotiable listings
        return bucket == "n"
    if bucket == "n":
        return True
    cursor_bucket = int(price_bucket(after[0] if sort == SearchSort.PRICE_ASC else -after[0]))
    return int(bucket) >= cursor_bucket if sort == SearchSort.PRICE_ASC else int(bucket) <= cursor_bucket


# One posting as stored: search seq, price in fen (NEGOTIABLE when none), region code, deal type bits,
# listing id (ID_BYTES, below). Packed into one binary value per postings document: FerretDB decodes
# array elements one by one (about 4 us each, so a 2,048-posting block as arrays took 25 ms to read) but
# a binary value in one piece (3 ms).
#
# The listing id takes 11 bytes: every id the platform makes is "lst-" and 20 lowercase hex digits
# (store.listing_id_for; before it, `lst-` and 20 digits of a random UUID's hex), stored as the tag 1
# and the 10 bytes those digits spell; any other id of at most 10 ASCII characters (tests, hand-made
# data) as the tag 0 and itself. Why not the id as text, as layouts 1-5 did (32 bytes): the id was two
# thirds of a record, and a fold moves and rewrites postings by the megabyte (README, "Thirty-first
# session").
ID_BYTES = 11
RECORD = struct.Struct(f">IqIB{ID_BYTES}s")
_SEQ_OF_RECORD = struct.Struct(f">I{RECORD.size - 4}x")
_ATTRIBUTES_OF_RECORD = struct.Struct(f">IqIB{ID_BYTES}x")  # all but the listing id, which costs a decode
_LISTING_PREFIX = "lst-"
_HEX_ID, _TEXT_ID = 1, 0  # the tags


def packed_listing_id(listing_id: str) -> bytes:
    """A listing id as a record stores it; ValueError for an id of neither form (none is ever made)."""
    digits = listing_id[len(_LISTING_PREFIX):]
    if len(digits) == 2 * (ID_BYTES - 1) and listing_id.startswith(_LISTING_PREFIX):
        try:
            spelled = bytes.fromhex(digits)
        except ValueError:
            spelled = b""
        if spelled.hex() == digits:  # exactly: fromhex also takes capitals and spaces
            return bytes((_HEX_ID,)) + spelled
    if len(listing_id) >= ID_BYTES or not listing_id.isascii():
        raise ValueError(f"listing id {listing_id!r} is neither lst- and 20 lowercase hex digits nor "
                         f"at most {ID_BYTES - 1} ASCII characters, so a posting cannot hold it")
    return (bytes((_TEXT_ID,)) + listing_id.encode("ascii")).ljust(ID_BYTES, b"\0")


def listing_id_of(stored: bytes) -> str:
    """The listing id a record holds (packed_listing_id's inverse)."""
    if stored[0] == _HEX_ID:
        return _LISTING_PREFIX + stored[1:].hex()
    return stored[1:].rstrip(b"\0").decode("ascii")


def pack(postings: Sequence[Posting]) -> bytes:
    return b"".join(RECORD.pack(p.seq, p.price, p.region, p.deals, packed_listing_id(p.listing_id))
                    for p in postings)


def newest_seq(packed: bytes) -> int:
    """The highest seq among packed records (-1 when there are none)."""
    return max(record_seqs(packed), default=-1)


def packed_by_term(postings: Mapping[str, Mapping[int, Posting]]) -> dict[str, bytes]:
    """Each term's postings (seq -> posting) as packed records in seq order; a term without any is left
    out."""
    return {term: pack(sorted(by_seq.values())) for term, by_seq in postings.items() if by_seq}


def seq_in_row(packed: bytes, row: int) -> int:
    """The seq of one of packed records (row -1: the last), without decoding the rest."""
    return int(_SEQ_OF_RECORD.unpack_from(packed, (row % (len(packed) // RECORD.size)) * RECORD.size)[0])


def record_seqs(packed: bytes) -> list[int]:
    """The seqs of packed records, in their order, without decoding the rest of each."""
    return [seq for (seq,) in _SEQ_OF_RECORD.iter_unpack(packed)]


def records_with_seqs(packed: bytes) -> list[tuple[int, bytes]]:
    """Each of packed records, cut out as it is, with its seq (the rest not decoded)."""
    size = RECORD.size
    return [(seq, packed[row * size:(row + 1) * size]) for row, seq in enumerate(record_seqs(packed))]


def unpack(blob: bytes) -> list[Posting]:
    return [Posting(seq, price, listing_id_of(stored), region, deals)
            for seq, price, region, deals, stored in RECORD.iter_unpack(blob)]


class PostingBlock:
    """The postings of one document as a search keeps them: the packed records as read, and their seqs
    in ascending order. A Posting is made only for what a query keeps.

    Why not a dict of Postings: decoded, a 2,048-posting block took some 400 KB of the API's cache
    (a tuple, two ints, an id string and a dict slot per posting), so the cache held only the hottest
    hundred blocks and the typical queries' p95 with the cache on was mostly misses; this is about
    30 bytes a posting (the record and a 4-byte seq; 50 before layout 6), and made several times faster."""

    __slots__ = ("packed", "rows", "seqs")

    def __init__(self, packed: bytes) -> None:
        self.packed = packed
        seqs = array("I", (seq for (seq,) in _SEQ_OF_RECORD.iter_unpack(packed)))
        # Records are appended in seq order, but a listing filed again keeps its seq and goes last.
        self.rows: array[int] | None = None
        if any(a >= b for a, b in pairwise(seqs)):
            order = sorted(range(len(seqs)), key=seqs.__getitem__)
            self.rows = array("I", order)
            seqs = array("I", (seqs[i] for i in order))
        self.seqs = seqs

    def __len__(self) -> int:
        return len(self.seqs)

    @property
    def size(self) -> int:
        """Bytes it takes, roughly (for the cache's budget)."""
        return 100 + len(self.packed) + 4 * len(self.seqs) + (4 * len(self.rows) if self.rows is not None else 0)

    def find(self, seq: int) -> int:
        """The position of `seq` among the seqs, -1 when absent."""
        i = bisect_left(self.seqs, seq)
        return i if i < len(self.seqs) and self.seqs[i] == seq else -1

    def posting_at(self, position: int) -> Posting:
        """The posting at this position of the sorted seqs."""
        return self.posting_in_row(self.rows[position] if self.rows is not None else position)

    def posting_in_row(self, row: int) -> Posting:
        """The posting stored at this row of the packed records."""
        seq, price, region, deals, stored = RECORD.unpack_from(self.packed, row * RECORD.size)
        return Posting(seq, price, listing_id_of(stored), region, deals)


EMPTY_BLOCK = PostingBlock(b"")


def intersect(groups: Sequence[Sequence[PostingBlock]], keep: RecordFilter | None = None) -> list[Posting]:
    """`groups[g][t]` holds the postings of term t of group g in one block: OR inside, AND across;
    `keep` checks a posting's record (SearchQuery.record_filter).

    Several groups: the seqs of the smallest group, intersected with each other group's (set
    operations, in C: walking the smallest group in Python and probing the others by binary search
    cost some 2-3 us a probe, and a narrow query probes thousands over the blocks it reads); only the
    postings kept are decoded (their listing ids)."""
    if not groups:
        return []
    smallest, *others = sorted(groups, key=lambda g: sum(len(t) for t in g))
    found: dict[int, Posting] = {}
    if not others and keep is None:  # one group (everything, a deal type...): every posting, in one go
        for term in smallest:
            for posting in unpack(term.packed):
                found.setdefault(posting.seq, posting)
        return list(found.values())
    if not others:  # one group and a filter: check each record before decoding its listing id
        assert keep is not None
        for term in smallest:
            for row, (seq, price, region, deals) in enumerate(_ATTRIBUTES_OF_RECORD.iter_unpack(term.packed)):
                if seq not in found and keep(price, region, deals):
                    found[seq] = term.posting_in_row(row)
        return list(found.values())
    candidates: set[int] = set().union(*(term.seqs for term in smallest))
    for group in others:
        candidates = set().union(*(candidates.intersection(term.seqs) for term in group))
        if not candidates:
            return []
    for term in smallest:
        for seq in candidates.intersection(term.seqs):
            if seq not in found:
                posting = term.posting_at(term.find(seq))
                if keep is None or keep(posting.price, posting.region, posting.deals):
                    found[seq] = posting
    return list(found.values())


def joined_keys(keys: Iterable[str]) -> str:
    """Blocks or cells as a head stores them: one string (FerretDB decodes a map of many entries several
    times slower than one string, and the indexer rewrites heads in every batch)."""
    return " ".join(sorted(keys))


_SEQ_AND_PRICE_OF_RECORD = struct.Struct(f">Iq{RECORD.size - 12}x")
_NEGOTIABLE_BUCKET = -1  # the "n" bucket as a number, in SplitPostings


def _cell_key(bucket: int, epoch: int) -> str:
    """A price cell as price_cell spells it, from a bucket number (_bucket_number) and an epoch."""
    return f"{'n' if bucket == _NEGOTIABLE_BUCKET else bucket}:{epoch}"


def _bucket_number(price: int) -> int:
    """A posting's price bucket as a number (_NEGOTIABLE_BUCKET for "n"), without making a string."""
    return _NEGOTIABLE_BUCKET if price == NEGOTIABLE else _priced_bucket(price)


class SplitPostings:
    """Packed records split by seq block and by price cell: a head's tail, or an epoch document, as a
    search reads them (a block's or a cell's postings of a term are the part here in that key).

    A part is cut out the first time a search asks for it, with number comparisons, and kept. Why not
    split everything when read: an epoch document holds up to some 1,000 postings over dozens of blocks
    and cells and a search takes one or two of them, while splitting it whole makes a key string per
    record, twice, several times the cost of cutting one part (README, "Thirty-first session")."""

    __slots__ = ("_buckets", "_keys", "_parts", "_prices", "_seqs", "packed", "size")

    def __init__(self, packed: bytes = b"") -> None:
        self.packed = packed
        self._seqs: list[int] | None = None
        self._prices: list[int] = []
        self._buckets: list[int] | None = None
        self._parts: dict[tuple[bool, str], PostingBlock] = {}
        self._keys: dict[bool, frozenset[str]] = {}  # a head's tail is asked for its keys at every search
        # What it takes split whole (the records twice, each part's seqs), for the cache's budget.
        self.size = 100 + 3 * len(packed)

    def _seqs_and_prices(self) -> tuple[list[int], list[int]]:
        if self._seqs is None:
            pairs = list(_SEQ_AND_PRICE_OF_RECORD.iter_unpack(self.packed))
            self._seqs, self._prices = [seq for seq, _ in pairs], [price for _, price in pairs]
        return self._seqs, self._prices

    def _bucket_numbers(self) -> list[int]:
        if self._buckets is None:
            self._buckets = [_bucket_number(price) for price in self._seqs_and_prices()[1]]
        return self._buckets

    def keys(self, by_price: bool) -> frozenset[str]:
        """The blocks (or price cells) the records are in, spelled as block_key (price_cell) does."""
        found = self._keys.get(by_price)
        if found is None:
            seqs = self._seqs_and_prices()[0]
            if by_price:
                cells = {(bucket, seq // EPOCH_SIZE) for bucket, seq in zip(self._bucket_numbers(), seqs, strict=True)}
                found = frozenset(_cell_key(bucket, epoch) for bucket, epoch in cells)
            else:
                found = frozenset(str(block) for block in {seq // BLOCK_SIZE for seq in seqs})
            self._keys[by_price] = found
        return found

    def part(self, key: str, by_price: bool) -> PostingBlock:
        found = self._parts.get((by_price, key))
        if found is None:
            found = self._cut(key, by_price)
            self._parts[by_price, key] = found
        return found

    def _cut(self, key: str, by_price: bool) -> PostingBlock:
        seqs = self._seqs_and_prices()[0]
        if by_price:
            bucket, epoch = key.split(":", 1)
            first = int(epoch) * EPOCH_SIZE
            wanted = _NEGOTIABLE_BUCKET if bucket == "n" else int(bucket)
            rows = [row for row, (seq, number) in enumerate(zip(seqs, self._bucket_numbers(), strict=True))
                    if number == wanted and first <= seq < first + EPOCH_SIZE]
        else:
            first = int(key) * BLOCK_SIZE
            rows = [row for row, seq in enumerate(seqs) if first <= seq < first + BLOCK_SIZE]
        if not rows:
            return EMPTY_BLOCK
        if rows[-1] - rows[0] == len(rows) - 1:  # one run of records, the usual case in seq order
            return PostingBlock(self.packed[rows[0] * RECORD.size:(rows[-1] + 1) * RECORD.size])
        return PostingBlock(b"".join(self.packed[row * RECORD.size:(row + 1) * RECORD.size] for row in rows))


EMPTY_SPLIT = SplitPostings()


def records_by_document(packed: bytes) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Packed records as a moving tail leaves them in its documents: by block (keys as block_key
    spells them) and by price cell (as price_cell does), each group in the records' order. Records are
    cut, not decoded: a fold moves tens of thousands of postings a time (README, "Thirty-seventh
    session")."""
    by_block: dict[int, list[bytes]] = {}
    by_cell: dict[tuple[int, int], list[bytes]] = {}
    for (seq, record), (_, price) in zip(records_with_seqs(packed), _SEQ_AND_PRICE_OF_RECORD.iter_unpack(packed),
                                         strict=True):
        by_block.setdefault(seq // BLOCK_SIZE, []).append(record)
        by_cell.setdefault((_bucket_number(price), seq // EPOCH_SIZE), []).append(record)
    return ({str(block): b"".join(records) for block, records in by_block.items()},
            {_cell_key(*cell): b"".join(records) for cell, records in by_cell.items()})


def records_by_epoch(packed: bytes) -> dict[str, bytes]:
    """Packed records by the epoch document a rare term's moving tail leaves them in (keys as
    epoch_key spells them), each group in the records' order."""
    by_epoch: dict[int, list[bytes]] = {}
    for seq, record in records_with_seqs(packed):
        by_epoch.setdefault(seq // EPOCH_SIZE, []).append(record)
    return {str(epoch): b"".join(records) for epoch, records in by_epoch.items()}


def record_keys(packed: bytes) -> tuple[set[str], set[str]]:
    """The blocks and the price cells that packed records have postings in."""
    split = SplitPostings(packed)
    return set(split.keys(False)), set(split.keys(True))


class TermHead:
    """A term's head as a search reads it: the blocks and price cells that have a postings document
    (`blocks`, `cells`), those where its epoch documents hold postings (`spread_blocks`,
    `spread_cells`), and its tail split by block and by cell, so a block's (or cell's) postings of the
    term are its documents' plus `tail_in` there. Decoded once, kept in the search cache."""

    __slots__ = ("blocks", "cells", "size", "spread_blocks", "spread_cells", "tail")

    def __init__(self, blocks: str = "", cells: str = "", tail: bytes = b"", spread_blocks: str = "",
                 spread_cells: str = "") -> None:
        self.blocks = frozenset(blocks.split())
        self.cells = frozenset(cells.split())
        self.spread_blocks = frozenset(spread_blocks.split())
        self.spread_cells = frozenset(spread_cells.split())
        self.tail = SplitPostings(tail)
        self.size = 100 + self.tail.size + 16 * (len(self.blocks) + len(self.cells) + len(self.spread_blocks)
                                                 + len(self.spread_cells))

    def keys(self, by_price: bool) -> set[str]:
        """The blocks (or cells) where the term has postings, in a document or in the tail."""
        return {*self.stored(by_price), *self.spread(by_price), *self.tail.keys(by_price)}

    def stored(self, by_price: bool) -> frozenset[str]:
        """The blocks (or cells) that have a postings document of their own."""
        return self.cells if by_price else self.blocks

    def spread(self, by_price: bool) -> frozenset[str]:
        """The blocks (or cells) where the term's epoch documents hold postings."""
        return self.spread_cells if by_price else self.spread_blocks

    def tail_in(self, key: str, by_price: bool) -> PostingBlock:
        return self.tail.part(key, by_price)


EMPTY_HEAD = TermHead()
