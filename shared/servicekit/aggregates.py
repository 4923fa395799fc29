"""The one seam for changing an aggregate: a unit of work over one document.

Every aggregate of every service (a listing, a negotiation, a talent, a training session...) is one
document, and every change to it is one single-document write carrying the new state and the events
it causes (the outbox). This module is the only place that knows how to do that safely on both stores:

- **create**: insert the document with its first events; a collision on the creation key (the
  caller's Idempotency-Key) reports what the earlier request created, so the route can answer 200;
- **read**: by `_id` only, internal bookkeeping (outbox, creation keys...) left out;
- **change**: serialise on the document within the process, read it by `_id`, let the caller decide
  (and answer 412 when the version it expected is stale), write the new state and its events in one
  update, then hand its events to the outbox relay (still under the lock).

How the write is guarded depends on the server, learned once at start-up (`StoreTraits`):

- FerretDB 1.x turns only an exact `{_id: value}` filter into an indexed SQL lookup; any other filter,
  `{_id, version}` included, reads and decodes every document of the collection (measured: 5 ms at
  1,000 documents, 97 ms at 5,000, 30 s at 100,000). It applies every update as read-modify-replace,
  so a conditional update is not atomic there anyway. So on FerretDB the write goes by `_id` alone,
  under the per-document lock that every writer of the process shares (each aggregate collection has
  one writing process: its API, which also runs the relay that clears the outbox);
- MongoDB uses its `_id` index for `{_id, version}` and applies it atomically, so there the write is a
  compare-and-set on the version it read, which holds across any number of API replicas.

Modelled on the unit of work and repository of "Architecture Patterns with Python" (cosmicpython),
in this project's own words: the unit of work collects the state change and its events and commits
them together; the repository is the `Aggregate` description plus the read functions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from servicekit import lookups, tallies
from servicekit.events.envelope import CloudEvent
from servicekit.http import key_reused, replayable, stale
from servicekit.mongo import PROCESS_LOCKS, STORE_TRAITS, Database, Document
from servicekit.outbox import (
    OUTBOX,
    announce_uncertain,
    announce_written,
    initial_outbox_fields,
    mark_pending,
    merge_updates,
    new_entries,
    outbox_replacement,
    outbox_update,
    relayed_entries,
    relayed_entries_dropped,
)
from servicekit.outcomes import current_digest
from servicekit.problems import ProblemError
from servicekit.updates import updated

CREATION_KEY = "creation_key"
CREATION_FINGERPRINT = "creation_fingerprint"
# The request that made the last change ({from: version before, digest}), so that a retry of a change
# whose answer was lost (servicekit.outcomes) is recognised instead of answered 412.
LAST_CHANGE = "last_change"
# Which document each creation key made (`_id` = "<collection>:<key>", `doc_id`), so a retried POST finds
# it by `_id` rather than by filtering the aggregates on the key.
CREATION_KEYS = "creation_keys"


def stored_now() -> datetime:
    """Now, to the millisecond the store keeps: an answer built from what was written (rather than read
    back) then says what a later read says."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Aggregate:
    """How one aggregate collection is kept: its name, the fields that never leave the store module,
    the field the compare-and-set guards (normally `version`, the resource's ETag), and, when its
    documents feed counts that gauges read, what each document contributes to them
    (servicekit.tallies), and when its documents appear in lists by a key ("my listings"), which lists
    each belongs to (servicekit.lookups). Both are computed from the document as reads return it."""

    collection: str
    internal_fields: tuple[str, ...] = ()
    version_field: str = "version"
    tallied: Callable[[Document], Mapping[str, Mapping[str, int]]] | None = None
    listed: Callable[[Document], Mapping[str, Iterable[str | None]]] | None = None

    def hidden(self, *, keep: Iterable[str] = ()) -> dict[str, int]:
        """A projection leaving out the outbox and the internal fields (except those in `keep`)."""
        kept = set(keep)
        return {f: 0 for f in (OUTBOX, CREATION_KEY, CREATION_FINGERPRINT, LAST_CHANGE, tallies.TALLIED,
                               *self.internal_fields)
                if f not in kept}

    def visible(self, document: Mapping[str, Any]) -> Document:
        """A document as `read` returns it (its bookkeeping left out): the answer to a create, built from
        what the insert wrote instead of read back (with times from `stored_now`, it is what a later read
        says)."""
        hidden = self.hidden()
        return {k: v for k, v in document.items() if k not in hidden}

    def contribution(self, document: Document) -> tallies.Contribution:
        return tallies.normalised(self.tallied(document)) if self.tallied is not None else {}

    def memberships(self, document: Document | None) -> lookups.Memberships:
        if self.listed is None or document is None:
            return {}
        return lookups.normalised(self.listed(document))

    def belongs(self, name: str, key: str) -> Callable[[Document], bool]:
        """Whether a document, as read now, is in lookup `name` under `key` (for `lookups.members`)."""
        return lambda document: key in self.memberships(document).get(name, set())


class DuplicateCreation(Exception):
    """A create collided with an existing document. `earlier` is what an earlier request with the same
    creation key created (None when the collision was on another unique key, such as the `_id`)."""

    def __init__(self, earlier: Document | None) -> None:
        self.earlier = earlier


class StaleVersion(ProblemError):
    """The document moved on between the read and the write (only on a compare-and-set store). Left
    uncaught it answers 412 with the current ETag, like an If-Match that no longer matches."""

    def __init__(self, current_version: int | None) -> None:
        problem = stale(current_version or 0)
        super().__init__(problem.status, problem.title, problem.detail, kind=problem.kind, **problem.extensions)
        self.current_version = current_version


Ahead = Callable[[], Awaitable[object]] | None
"""A caller's own write that must land before the aggregate's (a marker, a pointer at it), run at the
same time as the kit's own writes ahead of it (the outbox marker, the lookups): FerretDB answers one
write per commit, so writes in a row cost a commit each, while writes side by side share the wait."""


async def _ahead(*writes: Awaitable[object] | None) -> list[object]:
    """Writes that precede the aggregate's own, side by side; their results, None for a write not made."""
    made = await asyncio.gather(*(w for w in writes if w is not None))
    answers = iter(made)
    return [None if w is None else next(answers) for w in writes]


async def create(db: Database, aggregate: Aggregate, document: Document, events: Sequence[CloudEvent] = (),
                 *, find_earlier: bool = True, ahead: Ahead = None) -> None:
    """Insert a new aggregate with its first events, in one insert. On a unique-key collision raise
    DuplicateCreation with the document the same creation key made, if any (`find_earlier=False`: the
    caller tells collisions apart itself; the `_id` derived from the creation key, say). `ahead`: the
    caller's write to land before the insert (see Ahead)."""
    creation_key = document.get(CREATION_KEY) if find_earlier else None
    if not creation_key or not replayable(creation_key):
        # No key a retry could name (a POST without Idempotency-Key): nothing to claim, one write fewer.
        await _insert(db, aggregate, document, events, None, ahead=ahead)
        return
    # Under the creation key's lock, so two requests with the same key are one after the other here.
    key_id = f"{aggregate.collection}:{creation_key}"
    async with PROCESS_LOCKS.hold(CREATION_KEYS, key_id):
        # Claimed before the insert, and the earlier claim (if any) learnt, in one command: a first POST,
        # by far the most common, costs the store one claim instead of a read and a write.
        claimed = await db[CREATION_KEYS].find_one_and_update(
            {"_id": key_id}, {"$setOnInsert": {"doc_id": document["_id"]}}, upsert=True,
            return_document=ReturnDocument.BEFORE)
        if claimed is not None:
            earlier = await db[aggregate.collection].find_one({"_id": claimed["doc_id"]}, {OUTBOX: 0})
            if earlier is not None and earlier.get(CREATION_KEY) == creation_key:
                raise DuplicateCreation(earlier)  # a retried POST: what the earlier request made, by `_id`
            # A claim whose insert never happened (a crash, a store timeout): this request takes it over.
            await db[CREATION_KEYS].replace_one({"_id": key_id}, {"doc_id": document["_id"]}, upsert=True)
        await _insert(db, aggregate, document, events, key_id, unclaimed_before=claimed is None, ahead=ahead)


async def create_or_replay(db: Database, aggregate: Aggregate, document: Document,
                           events: Sequence[CloudEvent] = ()) -> tuple[Any, bool]:
    """A POST's create with its Idempotency-Key honoured: (the id of what exists now, created now). The
    same key with the same body again answers with what the earlier request made (False); the same key
    with another body is refused (422 idempotency-key-reused); a collision on another unique key (the
    `_id` itself, say) raises DuplicateCreation(None) for the caller to explain."""
    try:
        await create(db, aggregate, document, events)
    except DuplicateCreation as dup:
        if dup.earlier is None:
            raise
        if dup.earlier.get(CREATION_FINGERPRINT) != document.get(CREATION_FINGERPRINT):
            raise key_reused() from None
        return dup.earlier["_id"], False
    return document["_id"], True


async def _insert(db: Database, aggregate: Aggregate, document: Document, events: Sequence[CloudEvent],
                  key_id: str | None, *, unclaimed_before: bool = False, ahead: Ahead = None) -> None:
    collection = db[aggregate.collection]
    counted = aggregate.contribution(document)
    listed_under = lookups.entered({}, aggregate.memberships(document))
    entries = new_entries(events)
    async with PROCESS_LOCKS.hold(aggregate.collection, document["_id"]):
        # Listed before it exists, so a list never misses it (servicekit.lookups).
        await _ahead(mark_pending(db, aggregate.collection, document["_id"], entries[0].pos) if events else None,
                     lookups.add(db, listed_under, document["_id"]), ahead() if ahead is not None else None)
        stored = {**document, **initial_outbox_fields(entries)} if events else dict(document)
        if counted:
            stored[tallies.TALLIED] = tallies.stored(counted)
        try:
            await collection.insert_one(stored)
        except DuplicateKeyError as exc:
            if listed_under:
                # Not inserted: take it off the lists, unless a stored document with this `_id` is there.
                same_id = await collection.find_one({"_id": document["_id"]}, aggregate.hidden())
                still = aggregate.memberships(same_id)
                await lookups.remove(db, [(n, k) for n, k in listed_under if k not in still.get(n, set())],
                                     document["_id"])
            earlier = None
            if key_id is not None and (unclaimed_before or not STORE_TRAITS.only_id_filters_use_indexes):
                # The key's unique index says another document has this key though no claim named it: on
                # MongoDB, another API replica's request won the race (its index on the key finds it); on
                # either store, a document created before creation keys were claimed (a scan on FerretDB,
                # only for such a replay).
                earlier = await collection.find_one({CREATION_KEY: document[CREATION_KEY]}, {OUTBOX: 0})
            raise DuplicateCreation(earlier) from exc
        except BaseException:
            if events:
                announce_uncertain(aggregate.collection, document["_id"])  # it may have been stored
            raise
        # Still under the lock, so the relay learns of a document's writes in the order they were made.
        announce_written(aggregate.collection, document["_id"], entries)
        if counted:
            await tallies.add(db, counted)


async def read(db: Database, aggregate: Aggregate, doc_id: Any, *, keep: Iterable[str] = ()) -> Document | None:
    """The aggregate by `_id`, without its bookkeeping (except the internal fields named in `keep`)."""
    return await db[aggregate.collection].find_one({"_id": doc_id}, aggregate.hidden(keep=keep))


async def listed(db: Database, aggregate: Aggregate, name: str, key: str, *, limit: int, after: str | None = None,
                 where: Callable[[Document], bool] = lambda _doc: True,
                 projection: Mapping[str, int] | None = None) -> list[Document]:
    """Up to `limit` documents in lookup `name` under `key` (an owner's listings...) that also satisfy
    `where`, in list order after `after`, as reads return them (or with `projection`): the list page
    FerretDB serves by `_id` (servicekit.lookups)."""
    belongs = aggregate.belongs(name, key)
    shown = dict(projection) if projection is not None else aggregate.hidden()

    async def read_one(doc_id: Any) -> Document | None:
        return await db[aggregate.collection].find_one({"_id": doc_id}, shown)

    return await lookups.members(db, name, key, read=read_one, belongs=lambda doc: belongs(doc) and where(doc),
                                 limit=limit, after=after)


EVERYTHING = "all"


async def filtered_page(db: Database, aggregate: Aggregate, filters: Mapping[str, Any], *, after: str | None,
                        limit: int, by: Mapping[str, str], everything: str,
                        projection: Mapping[str, int] | None = None) -> list[Document]:
    """A list page with optional filters, served from lookups: the first field of `by` that the filters
    name picks the lookup keyed by its value (`by` maps a field to a lookup name, most selective first);
    without one, the lookup `everything` (key "all"), which the aggregate lists every document under. The
    other filters are applied to the documents read (`lookups.matches`), so a page's cost grows with the
    chosen lookup's members it reads before filling, not with the collection. The aggregate's `listed`
    must declare those lookups, keyed by the same fields. (A projection must keep the filtered fields.)"""
    for field, name in by.items():
        value = filters.get(field)
        if isinstance(value, str):
            return await listed(db, aggregate, name, value, limit=limit, after=after, projection=projection,
                                where=lambda doc: lookups.matches(doc, filters))
    return await listed(db, aggregate, everything, EVERYTHING, limit=limit, after=after, projection=projection,
                        where=lambda doc: lookups.matches(doc, filters))


async def _read_for_change(db: Database, aggregate: Aggregate, doc_id: Any, keep: Iterable[str]) -> Document | None:
    return await db[aggregate.collection].find_one({"_id": doc_id},
                                                   aggregate.hidden(keep=(*keep, LAST_CHANGE, tallies.TALLIED)))


@dataclass
class Change:
    """One unit of work on one aggregate document, open while its lock is held."""

    db: Database
    aggregate: Aggregate
    doc_id: Any
    document: Document | None
    last_change: Document | None = None
    # What the document is counted with in the tallies as stored, and its state after this unit's writes
    # so far (only kept for tallied aggregates: the next contribution is computed from it).
    counted: tallies.Contribution | None = None
    state: Document | None = None

    @property
    def version(self) -> int | None:
        if self.document is None:
            return None
        value = self.document.get(self.aggregate.version_field)
        return None if value is None else int(value)

    def check_version(self, expected_version: int) -> bool:
        """The If-Match check. True when this very request already made this change (its answer was
        lost, e.g. a store timeout answered 503 outcome-unknown, and the client retried): the caller
        then answers with the document as it is, writing nothing. Raises 412 when the document moved on
        otherwise."""
        digest = current_digest()
        if (digest is not None and self.version == expected_version + 1
                and self.last_change == {"from": expected_version, "digest": digest}):
            return True
        if self.version != expected_version:
            raise stale(self.version or 0)
        return False

    async def write(self, update: Mapping[str, Mapping[str, Any]], events: Sequence[CloudEvent] = (), *,
                    bump_version: bool = True, upsert: bool = False, ahead: Ahead = None) -> None:
        """Apply `update` (MongoDB update operators) and queue `events` in the same single-document
        write. `bump_version=False` for bookkeeping that is not a change of the resource (its ETag
        stays). `ahead`: the caller's write to land before this one (see Ahead). Raises StaleVersion
        when a compare-and-set finds the document moved on."""
        ops: dict[str, dict[str, Any]] = {op: dict(fields) for op, fields in update.items()}
        if bump_version:
            ops = merge_updates(ops, {"$inc": {self.aggregate.version_field: 1}})
            digest = current_digest()
            if digest is not None and self.document is not None:
                ops = merge_updates(ops, {"$set": {LAST_CHANGE: {"from": self.version, "digest": digest}}})
        moved: tallies.Contribution = {}
        next_state: Document | None = None
        counted_after: tallies.Contribution = {}
        left: list[tuple[str, str]] = []
        entering: list[tuple[str, str]] = []
        if self.aggregate.tallied is not None or self.aggregate.listed is not None:
            base = self.state if self.state is not None else (self.document or {"_id": self.doc_id})
            next_state = updated(base, update, inserting=self.document is None)
        if self.aggregate.tallied is not None and next_state is not None:
            # The contribution goes into the same write as the state it is computed from, so the two
            # never disagree; the tallies follow right after (servicekit.tallies).
            counted_after = self.aggregate.contribution(next_state)
            moved = tallies.difference(self.counted or {}, counted_after)
            if moved:
                ops = merge_updates(ops, {"$set": {tallies.TALLIED: tallies.stored(counted_after)}})
        if self.aggregate.listed is not None and next_state is not None:
            # Lists it enters: before the write (never missed); lists it leaves: after (servicekit.lookups).
            listed_before = self.aggregate.memberships(base if self.document is not None else None)
            listed_after = self.aggregate.memberships(next_state)
            entering = lookups.entered(listed_before, listed_after)
            left = lookups.entered(listed_after, listed_before)
        entries = new_entries(events)
        _, fresh_marker, _ = await _ahead(
            lookups.add(self.db, entering, self.doc_id) if entering else None,
            mark_pending(self.db, self.aggregate.collection, self.doc_id, entries[0].pos) if events else None,
            ahead() if ahead is not None else None)
        # Events the relay already sent leave the outbox with this write, at no extra store call: all of
        # them when this write's marker is fresh (nothing in the outbox was unsent), else those the relay
        # knows it sent.
        relayed = relayed_entries(self.aggregate.collection, self.doc_id) if self.document is not None else []
        if fresh_marker:
            ops = merge_updates(ops, outbox_replacement(entries))
        else:
            if events:
                ops = merge_updates(ops, outbox_update(entries))
            if relayed:
                ops = merge_updates(ops, {"$unset": {f"{OUTBOX}.{event_id}": "" for event_id in relayed}})
        query: dict[str, Any] = {"_id": self.doc_id}
        if not STORE_TRAITS.only_id_filters_use_indexes:
            # MongoDB: compare-and-set on what was read, atomic across processes: the version (each
            # write of this unit moves it on, so the latest), or its absence for a document that did not
            # exist (an upsert then collides with one created meanwhile and reports it as stale).
            # (`$exists`, not `None`: an upsert copies equality conditions into the new document.)
            query[self.aggregate.version_field] = ({"$exists": False} if self.document is None
                                                   else self.document.get(self.aggregate.version_field))
        try:
            result = await self.db[self.aggregate.collection].update_one(query, ops, upsert=upsert)
        except DuplicateKeyError:
            result = None
        except BaseException:
            if events:
                announce_uncertain(self.aggregate.collection, self.doc_id)  # it may have been stored
            raise
        if result is None or (result.matched_count == 0 and result.upserted_id is None):
            latest = await self.db[self.aggregate.collection].find_one(
                {"_id": self.doc_id}, {self.aggregate.version_field: 1})
            raise StaleVersion(None if latest is None else latest.get(self.aggregate.version_field))
        # Under the document's lock, so the relay learns of its writes in the order they were made.
        relayed_entries_dropped(self.aggregate.collection, self.doc_id, relayed)
        announce_written(self.aggregate.collection, self.doc_id, entries)
        if next_state is not None:
            self.state = next_state
            if moved:
                self.counted = counted_after
                await tallies.add(self.db, moved)
            if left:
                await lookups.remove(self.db, left, self.doc_id)
        if bump_version and self.document is not None:
            # In place, so the caller's reference to the document it decided on stays current.
            self.document[self.aggregate.version_field] = int(self.document.get(self.aggregate.version_field)
                                                              or 0) + 1


@asynccontextmanager
async def change(db: Database, aggregate: Aggregate, doc_id: Any, *,
                 keep: Iterable[str] = ()) -> AsyncIterator[Change]:
    """Open a unit of work on one aggregate: the document is read by `_id` under the process's lock on
    it (`change.document`, None when absent), the caller decides and calls `change.write(...)`, which
    hands its events to the relay."""
    async with PROCESS_LOCKS.hold(aggregate.collection, doc_id):
        found = await _read_for_change(db, aggregate, doc_id, keep)
        last_change = found.pop(LAST_CHANGE, None) if found is not None else None
        counted = tallies.from_stored(found.pop(tallies.TALLIED, None)) if found is not None else {}
        yield Change(db, aggregate, doc_id, found, last_change=last_change, counted=counted)


Decision = tuple[Mapping[str, Mapping[str, Any]], Sequence[CloudEvent]]


async def change_at_version(db: Database, aggregate: Aggregate, doc_id: Any, expected_version: int | None,
                            decide: Callable[[Document], Decision], *,
                            not_found: Callable[[], Exception],
                            visible: Callable[[Document], bool] = lambda _doc: True,
                            keep: Iterable[str] = ()) -> Document:
    """The common shape of an HTTP change: read (404 via `not_found` when absent or not `visible` to the
    caller), 412 when `expected_version` (the If-Match) is stale, `decide(current)` -> (update, events)
    (it may raise the domain's refusal), write, and return the stored document. `expected_version`
    None: the platform acting on its own (no If-Match to honour)."""
    async with change(db, aggregate, doc_id, keep=keep) as unit:
        current = unit.document
        if current is None or not visible(current):
            raise not_found()
        if expected_version is None or not unit.check_version(expected_version):
            update, events = decide(current)
            await unit.write(update, events)
    after = await read(db, aggregate, doc_id, keep=keep)
    if after is None:
        raise not_found()
    return after


@asynccontextmanager
async def exclusive(scope: str, key: Hashable) -> AsyncIterator[None]:
    """Serialise a critical section of this process that is not one document's change (for example
    "one open evaluation per talent, level and category": check, then insert)."""
    async with PROCESS_LOCKS.hold(f"exclusive:{scope}", key):
        yield


async def next_in_sequence(db: Database, collection: str, counter_id: str) -> int:
    """The next number of a sequence kept as one counter document (`$inc` by `_id`). MongoDB applies it
    atomically; FerretDB as read-modify-replace, so it is also held under the document's lock (one
    writing process per counter collection). Gaps are possible (a number taken by a request that then
    fails), repeats are not."""
    async with PROCESS_LOCKS.hold(collection, counter_id):
        doc = await db[collection].find_one_and_update(
            {"_id": counter_id}, {"$inc": {"value": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
    assert doc is not None  # an upsert returning the document after always returns one
    return int(doc["value"])
