"""List pages served by `_id`: the documents that belong to a key (an owner's listings, a party's
negotiations), kept as one small document per key, so FerretDB never scans an aggregate collection to
answer "mine".

An aggregate whose documents appear in such lists says so once, in its description:
`Aggregate(..., listed=memberships)`, where `memberships(document)` maps the document's state to the
lists it belongs to, `{lookup name: [keys]}` (a listing: `{"by_organisation": [owner, agent]}`). The
aggregate seam (servicekit.aggregates) keeps the lookups with every create and change:

- **written ahead**: a document is added to a key's lookup *before* the write that makes it belong
  there, so a list never misses a document that is in the store;
- **removed after**: it is taken off a key's lookup only after the write that makes it leave;
- **verified on read**: `members` reads the listed ids by `_id` and keeps only the documents whose
  current state still belongs to the key (a crash between the two steps, or a create that collided,
  leaves an id the read skips and drops).

A key's ids are spread over bucket documents (`bucket_of`: by a sequential id's prefix, else by a
hash), so no document grows past about a thousand ids even for an owner of 100,000 listings (FerretDB
rewrites a whole document on every update: one growing document would make each add cost as much as
the key's size). A small head document per key names its buckets. A list's order is (bucket, id):
id order for sequential ids, stable for random ones, so cursors work.

A bucket keeps its ids as **one string** (`s`, one id per line, sorted) and a write count (`v`).
Why not a map `{id: 1}` changed with `$set`/`$unset` of one field, as before: FerretDB decodes and
re-encodes every field of a document on every update, and a map's entries cost it some 15 us each.
Measured on a bare FerretDB (a throwaway script, not committed): adding one id to a map of 4 ids took
1.95 ms of its CPU, of 390 (an owner of 100,000 listings, hash-bucketed) 6.85 ms, of 1,000 (a full
sequential bucket) 25.5 ms; rewriting a string of the same ids 1.40, 1.65 and 2.15 ms. A change now
reads the bucket and writes it back whole, so it is no longer one atomic field update: on FerretDB
under the bucket's process lock (one process writes each aggregate's lookups, as it writes the
aggregate), on MongoDB as a compare-and-set on `v`, retried when another replica wrote first. A bucket
written before (its ids in a map `ids`) is read as both, and its next write moves the map into the
string.

Costs: adding or removing a member is a write of its bucket by `_id`, and a read of it before unless
(on FerretDB) this process wrote it last and still holds it as written (and, the first time a bucket
is used, a write of the key's head); a page reads the head, the buckets it needs in order and
each document shown, all by `_id`. A change that moves no membership costs nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from pymongo.errors import DuplicateKeyError

from servicekit.mongo import PROCESS_LOCKS, STORE_TRAITS, Database, Document

LOOKUPS = "lookups"

Memberships = dict[str, set[str]]


def normalised(memberships: Mapping[str, Iterable[str | None]] | None) -> Memberships:
    """Without empty keys (an absent agent) and empty lists."""
    result: Memberships = {}
    for name, keys in (memberships or {}).items():
        kept = {str(k) for k in keys if k}
        if kept:
            result[name] = kept
    return result


def head_id(name: str, key: str) -> str:
    return f"{name}:{key}"


def _field(text: str) -> str:
    """A string as a field name: without the dots that would split a path or a leading `$` (reversible)."""
    return text.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def _unfield(name: str) -> str:
    return name.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


# A sequential id: a separator, then a counter of six digits or more (`LNIP-2026-000123`). A random hex
# id (`LST-9f3c...1234`) may end in digits too, but they follow a hex letter or are fewer.
_SEQUENTIAL = re.compile(r"[-_:/]\d{6,}$")


def bucket_of(item_id: Any) -> str:
    """The bucket an id lives in. Sequential ids (`LNIP-2026-000123`) go by their prefix without the
    last three digits, 1,000 consecutive ids per bucket, so a list is in id order (registration order)
    and fills buckets one after the other. Other ids (random: `LST-9f3c...`, credit codes) go by the
    first two hex digits of their SHA-1, 256 buckets, so none grows large; their list order is by
    bucket, then id (stable, so cursors work). The bucket is escaped to be a field name."""
    text = str(item_id)
    if _SEQUENTIAL.search(text):
        return "p:" + _field(text[:-3])
    return "h:" + hashlib.sha1(text.encode()).hexdigest()[:2]


def _bucket_id(name: str, key: str, bucket: str) -> str:
    return f"{name}:{key}:{bucket}"


def order_key(item_id: Any) -> tuple[str, str]:
    """Where an id sits in its list: by bucket, then by id."""
    return bucket_of(item_id), str(item_id)


def entered(before: Memberships, after: Memberships) -> list[tuple[str, str]]:
    """The (lookup, key) pairs `after` belongs to and `before` did not."""
    return sorted((name, k) for name, keys in after.items() for k in keys - before.get(name, set()))


async def add(db: Database, pairs: Iterable[tuple[str, str]], item_id: Any) -> None:
    await asyncio.gather(*(_set(db, name, k, item_id, True) for name, k in pairs))


async def remove(db: Database, pairs: Iterable[tuple[str, str]], item_id: Any) -> None:
    await asyncio.gather(*(_set(db, name, k, item_id, False) for name, k in pairs))


# Buckets this process knows a head names already (so an add to them costs one write, not a read and a
# write). Bounded: forgetting one only costs the head's `$set` again, which is idempotent.
_NAMED_BUCKETS: dict[str, None] = {}
_NAMED_BUCKETS_KEPT = 100_000


async def _set(db: Database, name: str, key: str, item_id: Any, member: bool) -> None:
    bucket = bucket_of(item_id)
    bucket_doc = _bucket_id(name, key, bucket)
    # Each document under its own lock: the head, shared by the key's buckets, only while naming a
    # bucket; the bucket for its own read and write. So adds to one key's different buckets (an
    # organisation creating listings concurrently) do not queue.
    if member and bucket_doc not in _NAMED_BUCKETS:
        async with PROCESS_LOCKS.hold(LOOKUPS, head_id(name, key)):
            # The head names the bucket before the bucket holds anything (a reader finds every id).
            await db[LOOKUPS].update_one({"_id": head_id(name, key)}, {"$set": {f"buckets.{bucket}": 1}},
                                         upsert=True)
        if len(_NAMED_BUCKETS) >= _NAMED_BUCKETS_KEPT:
            _NAMED_BUCKETS.pop(next(iter(_NAMED_BUCKETS)))
        _NAMED_BUCKETS[bucket_doc] = None
    # The head keeps naming an emptied bucket: a page reads it and finds nothing, which is cheap.
    async with PROCESS_LOCKS.hold(LOOKUPS, bucket_doc):
        await _rewrite_bucket(db, bucket_doc, str(item_id), member)


# On FerretDB, the buckets this process wrote, as it wrote them (ids, write count): the one process that
# writes an aggregate writes its lookups too (servicekit.aggregates), so its own last write is what the
# store holds and the next change of the bucket need not read it. Bounded by the ids held; a failed
# write drops its bucket (the next change reads it).
_WRITTEN: OrderedDict[str, tuple[frozenset[str], int]] = OrderedDict()
_WRITTEN_IDS_KEPT = 200_000
_written_ids = 0


def _remember(remembered: str, ids: frozenset[str] | None, written: int = 0) -> None:
    """Keep (or with None, forget) a bucket as written: `remembered` is `<database>/<bucket id>`."""
    global _written_ids
    old = _WRITTEN.pop(remembered, None)
    if old is not None:
        _written_ids -= len(old[0])
    if ids is None or not STORE_TRAITS.only_id_filters_use_indexes:
        return
    _WRITTEN[remembered] = (ids, written)
    _written_ids += len(ids)
    while _written_ids > _WRITTEN_IDS_KEPT and len(_WRITTEN) > 1:
        _, (dropped, _count) = _WRITTEN.popitem(last=False)
        _written_ids -= len(dropped)


async def _rewrite_bucket(db: Database, bucket_doc: str, item_id: str, member: bool) -> None:
    """Add `item_id` to (or take it off) a bucket: read it (unless this process wrote it last), write it
    back whole. On MongoDB the write is a compare-and-set on the bucket's write count, repeated after a
    read of what another replica wrote."""
    if "\n" in item_id:
        raise ValueError(f"a listed id cannot hold a line break: {item_id!r}")
    try:
        await _change_bucket(db, bucket_doc, item_id, member)
    except BaseException:
        _remember(f"{db.name}/{bucket_doc}", None)  # the write may or may not have landed
        raise


async def _change_bucket(db: Database, bucket_doc: str, item_id: str, member: bool) -> None:
    by_id = STORE_TRAITS.only_id_filters_use_indexes
    remembered = f"{db.name}/{bucket_doc}"
    while True:
        stored_count: Any = None  # the write count read, for the compare-and-set (None: none stored)
        old_map = False  # whether the bucket still holds ids the old way (a map `ids`)
        exists = True
        if by_id and remembered in _WRITTEN:
            held, written = _WRITTEN[remembered]
            _WRITTEN.move_to_end(remembered)
            ids = set(held)
        else:
            doc = await db[LOOKUPS].find_one({"_id": bucket_doc})
            ids, exists = set(_members_of(doc)), doc is not None
            stored_count, old_map = (doc or {}).get("v"), "ids" in (doc or {})
            written = int(stored_count or 0)
        if (item_id in ids) == member and not old_map:
            return  # already so (a retried change), and nothing written the old way to move
        if member:
            ids.add(item_id)
        else:
            ids.discard(item_id)
        update: Document = {"$set": {"s": _joined(ids), "v": written + 1}}
        if old_map:
            update["$unset"] = {"ids": ""}
        if by_id:
            await db[LOOKUPS].update_one({"_id": bucket_doc}, update, upsert=True)
            _remember(remembered, frozenset(ids), written + 1)
            return
        if not exists:
            try:
                await db[LOOKUPS].insert_one({"_id": bucket_doc, **update["$set"]})
                return
            except DuplicateKeyError:
                continue  # another replica made it first
        # MongoDB only (on FerretDB, `by_id` above wrote by `_id` alone): MongoDB serves `{_id, v}` from its
        # `_id` index, as the aggregates' compare-and-set. `v: None` also matches a bucket without a count.
        if (await db[LOOKUPS].update_one({"_id": bucket_doc, "v": stored_count}, update)).matched_count:
            return


def _members_of(doc: Document | None) -> list[str]:
    """A bucket's ids, in list order: its string, and the map a bucket written before kept them in."""
    text = str((doc or {}).get("s") or "")
    ids = set(text.split("\n")) if text else set()
    ids.update(_unfield(str(i)) for i in (doc or {}).get("ids") or {})
    return sorted(ids)


def _joined(ids: Iterable[str]) -> str:
    return "\n".join(sorted(ids))


def matches(document: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """Whether a document satisfies a list page's filters, as MongoDB would read them, for the filter
    forms the pages use: a field equal to a value (or an array field containing it) and an anchored
    prefix `{"$regex": "^..."}`. Anything else raises, rather than answering a different question."""
    for field, wanted in filters.items():
        value = document.get(field)
        if isinstance(wanted, Mapping):
            pattern = wanted.get("$regex")
            if set(wanted) != {"$regex"} or not isinstance(pattern, str) or not pattern.startswith("^") \
                    or any(c in pattern[1:] for c in ".*+?[](){}|\\$"):
                raise ValueError(f"a list filter {field}: {wanted!r} is not an anchored prefix")
            if not isinstance(value, str) or not value.startswith(pattern[1:]):
                return False
        elif isinstance(value, list):
            if wanted not in value:
                return False
        elif value != wanted:
            return False
    return True


async def members(db: Database, name: str, key: str, *, read: Callable[[Any], Awaitable[Document | None]],
                  belongs: Callable[[Document], bool], limit: int, after: str | None = None) -> list[Document]:
    """Up to `limit` documents of a key's lookup, in list order (`order_key`) after `after` (the last id
    of the previous page), each read by `_id` with `read` and kept only while `belongs(document)` (its
    current state lists it under this key, and whatever else the page asks, such as a status).

    An id that does not belong is skipped, not dropped: it may be a create or change in flight (written
    ahead, not yet stored), and dropping it would make the list miss that document once stored. The
    seam removes ids after the writes that make them leave; only a crash leaves one behind."""
    head = await db[LOOKUPS].find_one({"_id": head_id(name, key)})
    start = order_key(after) if after is not None else None
    found: list[Document] = []
    for bucket in sorted((head or {}).get("buckets") or {}):
        if start is not None and bucket < start[0]:
            continue
        doc = await db[LOOKUPS].find_one({"_id": _bucket_id(name, key, bucket)})
        ids = _members_of(doc)
        if start is not None and bucket == start[0]:
            ids = [i for i in ids if i > start[1]]
        step = max(limit - len(found), 1)
        for offset in range(0, len(ids), step):
            chunk = ids[offset:offset + step]
            docs = await asyncio.gather(*(read(i) for i in chunk))
            found += [d for d in docs if d is not None and belongs(d)]
            if len(found) >= limit:
                return found[:limit]
    return found


def documents_for(members: Iterable[tuple[str, str, Any]]) -> list[Document]:
    """The lookup documents (heads and buckets) for (lookup, key, id) triples, built in memory: what
    `add` would have written one by one, for a bulk load or a rebuild run while the API is stopped."""
    buckets: dict[str, set[str]] = {}
    heads: dict[str, dict[str, int]] = {}
    for name, key, item_id in members:
        bucket = bucket_of(item_id)
        heads.setdefault(head_id(name, key), {})[bucket] = 1
        buckets.setdefault(_bucket_id(name, key, bucket), set()).add(str(item_id))
    # `v` as if each id had been added on its own, as `add` counts its writes.
    return ([{"_id": doc_id, "buckets": named} for doc_id, named in heads.items()]
            + [{"_id": doc_id, "s": _joined(ids), "v": len(ids)} for doc_id, ids in buckets.items()])
