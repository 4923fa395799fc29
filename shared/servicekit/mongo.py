"""The MongoDB client (PyMongo's asyncio API), indexes declared in code, and per-document write locks.

FerretDB 1.x (the local MongoDB-protocol server) applies an update as read, modify in Go, replace by
_id, so two updates of one document racing from the same process could lose one of them (MongoDB
itself does not). Writers therefore go through `DocumentLocks`, which serialises writes to one
document within a process. Each aggregate collection has a single writing process (its API, which
also hosts the outbox relay), so this closes the gap locally and costs nothing on MongoDB.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pymongo
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, ExecutionTimeout, NetworkTimeout

from servicekit import mongo_wire
from servicekit.outcomes import WriteCounter
from servicekit.settings import ServiceSettings
from servicekit.store_audit import FilterAudit
from servicekit.store_health import StoreHealthLog
from servicekit.updates import updated

Document = dict[str, Any]
Database = AsyncDatabase[Document]
Collection = AsyncCollection[Document]

# Errors that mean "the store is not reachable right now": retry later, answer 503 meanwhile.
STORE_UNAVAILABLE: tuple[type[Exception], ...] = (ConnectionFailure, NetworkTimeout, ExecutionTimeout)


@dataclass(frozen=True)
class IndexSpec:
    collection: str
    keys: tuple[tuple[str, int], ...]
    unique: bool = False

    @property
    def name(self) -> str:
        return "_".join(f"{k}_{d}" for k, d in self.keys)


def mongo_client(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    timeout = settings.mongo_timeout_ms
    listeners: list[monitoring.CommandListener | StoreHealthLog] = [WriteCounter(), StoreHealthLog()]
    if settings.store_filter_audit_dir:
        listeners.append(FilterAudit(settings.store_filter_audit_dir, settings.service_name))
    mongo_wire.use(settings.mongo_lean_wire)
    return AsyncMongoClient(
        settings.mongo_url.get_secret_value(),
        event_listeners=listeners,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout,
        connectTimeoutMS=timeout,
        socketTimeoutMS=max(timeout * 5, 10_000),
        retryWrites=settings.mongo_retry_writes,
        appname=settings.service_name,
    )


class _CollectionsMadeOnce(AsyncDatabase[Document]):
    """A database that makes each collection object once: PyMongo's `db[name]` builds a new one (name
    checked, options resolved) at every call, and the services name a collection at every store call:
    2.2% of the trading API's CPU under the publish benchmark (README, "Twenty-eighth session").
    Collection objects hold no state of an operation, so one per name serves every caller."""

    def __init__(self, client: AsyncMongoClient[Document], name: str) -> None:
        super().__init__(client, name)
        self._made: dict[str, Collection] = {}

    def __getitem__(self, name: str) -> Collection:
        made = self._made.get(name)
        if made is None:
            made = self._made[name] = super().__getitem__(name)
        return made


def database(client: AsyncMongoClient[Document], name: str) -> Database:
    """The service's database on this client (every process and job opens it here)."""
    return _CollectionsMadeOnce(client, name)


async def ensure_indexes(db: Database, specs: Iterable[IndexSpec]) -> None:
    for spec in specs:
        await db[spec.collection].create_index(list(spec.keys), unique=spec.unique, name=spec.name)


async def create_declared_indexes(settings: ServiceSettings, specs: Iterable[IndexSpec]) -> str:
    """Create a service's declared indexes (idempotent), for a deployment's init step: on MongoDB with
    millions of documents an index build takes a while, and it should be done before traffic arrives.
    (Each API also makes sure of them at start-up.)"""
    client = mongo_client(settings)
    try:
        db = database(client, settings.database_name)
        specs = list(specs)
        await ensure_indexes(db, specs)
        return f"{len(specs)} indexes present in {settings.database_name}: " + ", ".join(
            f"{s.collection}.{s.name}" for s in specs)
    finally:
        await client.close()


# A bulk job (a recount, a rebuild) reads whole collections: far longer than a request may take.
BULK_JOB_BUDGET_SECONDS = 3600.0


async def run_bulk_job(settings: ServiceSettings, job: Callable[[Database], Awaitable[str]]) -> str:
    """Run an operator's bulk job against the service's database, with its own client and a budget of
    an hour (never on a timer: each reads whole collections); returns what the job reports."""
    client = mongo_client(settings)
    try:
        with pymongo.timeout(BULK_JOB_BUDGET_SECONDS):
            return await job(database(client, settings.database_name))
    finally:
        await client.close()


async def ping(db: Database) -> None:
    await db.command("ping")


@dataclass
class DocumentLocks:
    _locks: dict[tuple[str, Any], asyncio.Lock] = field(default_factory=dict)
    _users: dict[tuple[str, Any], int] = field(default_factory=dict)

    @asynccontextmanager
    async def hold(self, collection: str, doc_id: Any) -> AsyncIterator[None]:
        key = (collection, doc_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # keep the map from growing with every document ever written
                del self._users[key]
                del self._locks[key]

    def busy(self, collection: str, doc_id: Any) -> bool:
        """Whether someone holds or waits for this document's lock (if not, `hold` takes it at once)."""
        return (collection, doc_id) in self._locks


@dataclass
class StoreTraits:
    """What the connected server does well, learned once per process at start-up (one store per process).

    FerretDB 1.x turns a filter into SQL only when it is exactly `{_id: <value>}`; any other filter,
    even `{_id: x, other: y}`, reads and decodes every document of the collection in Go. So on
    FerretDB a conditional update costs a full scan, and consumers slowed down in proportion to the
    size of their projection (30 events/s at 1,000 documents). MongoDB uses the _id index either way.
    """

    only_id_filters_use_indexes: bool = False


STORE_TRAITS = StoreTraits()


async def learn_store_traits(db: Database) -> StoreTraits:
    info = await db.command("buildInfo")
    STORE_TRAITS.only_id_filters_use_indexes = "ferretdbVersion" in info
    return STORE_TRAITS


# Statements per write command in `bulk_write_in_batches`. FerretDB 1.24 runs each statement of an
# `update` command through its own query and closes those queries only when the whole command ends
# (handler/msg_update.go defers the closers inside the loop), while its SQLite pool allows 100 open
# connections per database: a command of 100 or more updates (fewer with other traffic) waits forever
# for a connection it holds itself. Measured: 99 upserts answer in 0.1 s, 100 hang until the socket
# timeout. 32 leaves room for concurrent readers; MongoDB is indifferent to the split.
WRITE_BATCH = 32


async def bulk_write_in_batches(collection: Collection, operations: list[Any], ordered: bool = False, *,
                                per_command: int = WRITE_BATCH, at_once: int = 1) -> None:
    """`bulk_write` in commands of at most `per_command` statements (<= WRITE_BATCH), `at_once` of them
    side by side (`ordered` writes go one command after the other).

    Why side by side: FerretDB applies a command's statements one after the other, each with its own
    commit, while separate commands commit in parallel (`python -m tests.benchmarks.store_writes`
    compares them: with an fsync per commit, four commands of 8 at once wrote 60 KB values about twice
    as fast as one command of 32; the local store has run without that fsync since the eighth session,
    README "Store durability", so measure again before tuning). Keep per_command * at_once well under
    WRITE_BATCH's pool bound: the statements of commands in flight hold connections together."""
    size = max(1, min(per_command, WRITE_BATCH))
    commands = [operations[start:start + size] for start in range(0, len(operations), size)]
    if ordered or at_once <= 1:
        for command in commands:
            await collection.bulk_write(command, ordered=ordered)
        return
    slots = asyncio.Semaphore(at_once)

    async def send(command: list[Any]) -> None:
        async with slots:
            await collection.bulk_write(command, ordered=False)

    outcomes = await asyncio.gather(*(send(c) for c in commands), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


DUPLICATE_KEY = 11000


def only_duplicates(refused: BulkWriteError) -> bool:
    """Whether every statement a bulk write refused was refused as a duplicate key (an insert of a
    document already there), and nothing else went wrong."""
    details = refused.details or {}
    errors = details.get("writeErrors") or []
    return bool(errors) and not details.get("writeConcernErrors") and all(
        e.get("code") == DUPLICATE_KEY for e in errors)


# The process's one set of per-document write locks: the aggregate seam (servicekit.aggregates), the
# outbox relay's clearing write and apply_once all hold these, so no two writes of one document from
# this process interleave, whoever makes them.
PROCESS_LOCKS = DocumentLocks()


async def apply_once(
    collection: Collection,
    doc_id: Any,
    event_id: str,
    update: Mapping[str, Any],
    *,
    upsert: bool = True,
    newer_than: tuple[str, int] | None = None,
    likely_new: bool = False,
) -> bool:
    """Apply `update` and record `event_id` in the same single-document update, unless already applied.

    The filter only matches while the event id is absent from `applied_events`; on redelivery it
    matches nothing, and the upsert then collides with the existing _id, which we read as "already
    applied". With `newer_than=(field, value)` the update also only applies while the stored `field`
    is below `value`, so a late, older snapshot is treated like a duplicate. Returns True when the
    effect happened now.

    On a server that indexes only `{_id}` filters (FerretDB) the same decision is taken in Python on
    the document read by _id, and the write goes by _id, under a per-document lock. That is as safe
    there as the conditional update: FerretDB applies every update as read, modify, replace, so the
    conditional form is no more atomic across processes, and a partition (hence an aggregate's
    events) has one consumer at a time.

    `likely_new`: the event normally creates the document (a "registered" event). On FerretDB the
    document the upsert would make is then inserted at once, without the read; the insert colliding (a
    redelivery, or a later event that overtook it) falls back to the read and the decision above. One
    store command instead of two for the common case. (MongoDB's conditional upsert is one already.)
    """
    merged: dict[str, Any] = {k: dict(v) for k, v in update.items()}
    merged.setdefault("$push", {})["applied_events"] = event_id
    if STORE_TRAITS.only_id_filters_use_indexes:
        return await _apply_once_by_id(collection, doc_id, event_id, merged, upsert, newer_than, likely_new)
    query: dict[str, Any] = {"_id": doc_id, "applied_events": {"$ne": event_id}}
    if newer_than is not None:
        query[newer_than[0]] = {"$lt": newer_than[1]}
    try:
        result = await collection.update_one(query, merged, upsert=upsert)
    except DuplicateKeyError:
        return False
    return result.upserted_id is not None or result.modified_count > 0


async def _apply_once_by_id(collection: Collection, doc_id: Any, event_id: str, merged: dict[str, Any],
                            upsert: bool, newer_than: tuple[str, int] | None, likely_new: bool) -> bool:
    wanted = {"applied_events": 1, **({newer_than[0]: 1} if newer_than else {})}
    async with PROCESS_LOCKS.hold(collection.name, doc_id):
        if likely_new and upsert:
            try:
                await collection.insert_one(updated({"_id": doc_id}, merged, inserting=True))
                return True
            except DuplicateKeyError:
                pass  # it exists already: decide on it as stored
        current = await collection.find_one({"_id": doc_id}, wanted)
        if current is None:
            if not upsert:
                return False
        else:
            if event_id in (current.get("applied_events") or []):
                return False
            if newer_than is not None:
                # Same meaning as `{field: {$lt: value}}`: a document without the field does not match.
                stored = current.get(newer_than[0])
                if stored is None or stored >= newer_than[1]:
                    return False
        try:
            await collection.update_one({"_id": doc_id}, merged, upsert=upsert)
        except DuplicateKeyError:
            return False
        return True

