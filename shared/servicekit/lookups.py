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

Costs: one `_id` read of the lookup plus one `_id` read per document shown; a change that moves no
membership costs nothing. A lookup document grows with its key's members (a few hundred bytes per
hundred ids); a key with hundreds of thousands of members would want buckets, which no list here has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from servicekit.mongo import PROCESS_LOCKS, Database, Document
from servicekit.tallies import key as path_key

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


def lookup_id(name: str, key: str) -> str:
    return f"{name}:{key}"


def entered(before: Memberships, after: Memberships) -> list[tuple[str, str]]:
    """The (lookup, key) pairs `after` belongs to and `before` did not."""
    return sorted((name, k) for name, keys in after.items() for k in keys - before.get(name, set()))


async def add(db: Database, pairs: Iterable[tuple[str, str]], item_id: Any) -> None:
    await asyncio.gather(*(_set(db, name, k, item_id, True) for name, k in pairs))


async def remove(db: Database, pairs: Iterable[tuple[str, str]], item_id: Any) -> None:
    await asyncio.gather(*(_set(db, name, k, item_id, False) for name, k in pairs))


async def _set(db: Database, name: str, key: str, item_id: Any, member: bool) -> None:
    doc_id = lookup_id(name, key)
    field = f"ids.{path_key(item_id)}"
    # Under the lookup's lock: FerretDB applies an update as read-modify-replace.
    async with PROCESS_LOCKS.hold(LOOKUPS, doc_id):
        if member:
            await db[LOOKUPS].update_one({"_id": doc_id}, {"$set": {field: 1}}, upsert=True)
        else:
            await db[LOOKUPS].update_one({"_id": doc_id}, {"$unset": {field: ""}})


async def members(db: Database, name: str, key: str, *, read: Callable[[Any], Awaitable[Document | None]],
                  belongs: Callable[[Document], bool], limit: int, after: str | None = None) -> list[Document]:
    """Up to `limit` documents of a key's lookup, in `_id` order after `after` (a page cursor), each read
    by `_id` with `read` and kept only while `belongs(document)` (its current state lists it under this
    key, and whatever else the page asks, such as a status).

    An id that does not belong is skipped, not dropped: it may be a create or change in flight (written
    ahead, not yet stored), and dropping it would make the list miss that document once stored. The
    seam removes ids after the writes that make them leave; only a crash leaves one behind."""
    lookup = await db[LOOKUPS].find_one({"_id": lookup_id(name, key)})
    ids = sorted(i for i in (lookup or {}).get("ids") or {} if after is None or i > after)
    found: list[Document] = []
    step = max(limit, 1)
    for start in range(0, len(ids), step):
        chunk = ids[start:start + step]
        docs = await asyncio.gather(*(read(i) for i in chunk))
        found += [doc for doc in docs if doc is not None and belongs(doc)]
        if len(found) >= limit:
            break
    return found[:limit]
