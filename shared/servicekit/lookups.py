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

Costs: adding or removing a member is one `_id` read of the head and one or two `_id` writes; a page
reads the head, the buckets it needs in order and each document shown, all by `_id`. A change that
moves no membership costs nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from servicekit.mongo import PROCESS_LOCKS, Database, Document

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
    field = f"ids.{_field(str(item_id))}"
    bucket_doc = _bucket_id(name, key, bucket)
    # Each document under its own lock (FerretDB applies an update as read-modify-replace): the head,
    # shared by the key's buckets, only while naming a bucket; the bucket for its own write. So adds to
    # one key's different buckets (an organisation creating listings concurrently) do not queue.
    if member:
        if bucket_doc not in _NAMED_BUCKETS:
            async with PROCESS_LOCKS.hold(LOOKUPS, head_id(name, key)):
                # The head names the bucket before the bucket holds anything (a reader finds every id).
                await db[LOOKUPS].update_one({"_id": head_id(name, key)}, {"$set": {f"buckets.{bucket}": 1}},
                                             upsert=True)
            if len(_NAMED_BUCKETS) >= _NAMED_BUCKETS_KEPT:
                _NAMED_BUCKETS.pop(next(iter(_NAMED_BUCKETS)))
            _NAMED_BUCKETS[bucket_doc] = None
        async with PROCESS_LOCKS.hold(LOOKUPS, bucket_doc):
            await db[LOOKUPS].update_one({"_id": bucket_doc}, {"$set": {field: 1}}, upsert=True)
    else:
        # The head keeps naming an emptied bucket: a page reads it and finds nothing, which is cheap.
        async with PROCESS_LOCKS.hold(LOOKUPS, bucket_doc):
            await db[LOOKUPS].update_one({"_id": bucket_doc}, {"$unset": {field: ""}})


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
        ids = sorted(_unfield(str(i)) for i in (doc or {}).get("ids") or {})
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
    buckets: dict[str, dict[str, int]] = {}
    heads: dict[str, dict[str, int]] = {}
    for name, key, item_id in members:
        bucket = bucket_of(item_id)
        heads.setdefault(head_id(name, key), {})[bucket] = 1
        buckets.setdefault(_bucket_id(name, key, bucket), {})[_field(str(item_id))] = 1
    return ([{"_id": doc_id, "buckets": named} for doc_id, named in heads.items()]
            + [{"_id": doc_id, "ids": ids} for doc_id, ids in buckets.items()])
