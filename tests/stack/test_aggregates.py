"""The kit's unit of work (servicekit.aggregates) against the real FerretDB, in both of its write
strategies: by `_id` under the process lock (what FerretDB indexes) and the compare-and-set on the
version (what MongoDB does atomically across replicas; on FerretDB it works, only slower)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest
from devstack.layout import Profile
from devstack.stack import Stack
from pymongo import AsyncMongoClient
from servicekit import aggregates, lookups, tallies
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent, EventPayload
from servicekit.http import generated_creation_key
from servicekit.mongo import STORE_TRAITS, Database, Document, learn_store_traits
from servicekit.problems import ProblemError

pytestmark = pytest.mark.stack


class ThingRenamed(EventPayload):
    event_type: ClassVar[str] = "cn.ipo.ln.test.thing.renamed.v1"
    name: str


async def _with_strategy(profile: Profile, only_id_filters: bool) -> AsyncIterator[Database]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(profile.mongo_url, tz_aware=True)
    database = client["kit_aggregates"]
    learned = (await learn_store_traits(database)).only_id_filters_use_indexes
    STORE_TRAITS.only_id_filters_use_indexes = only_id_filters
    try:
        yield database
    finally:
        STORE_TRAITS.only_id_filters_use_indexes = learned
        await client.close()


@pytest.fixture(params=[False, True], ids=["compare-and-set", "by-id-under-lock"])
async def db(request: pytest.FixtureRequest, infra: Stack, test_profile: Profile) -> AsyncIterator[Database]:
    async for database in _with_strategy(test_profile, request.param):
        yield database


@pytest.fixture
async def cas_db(infra: Stack, test_profile: Profile) -> AsyncIterator[Database]:
    """The compare-and-set strategy only: the one that can see another process's write (on FerretDB
    the design excludes that instead: one writing process per aggregate collection)."""
    async for database in _with_strategy(test_profile, False):
        yield database


def _aggregate() -> Aggregate:
    return Aggregate(f"things_{uuid.uuid4().hex[:8]}", internal_fields=("secret",))


def _event(subject: str) -> CloudEvent:
    return CloudEvent.new("/test", subject, ThingRenamed(name="x"))


async def test_a_change_writes_state_version_and_events_together(db: Database) -> None:
    things = _aggregate()
    await aggregates.create(db, things, {"_id": "t-1", "name": "a", "version": 1, "secret": "s",
                                         "creation_key": "k-1"}, [_event("t-1")])
    first = await aggregates.read(db, things, "t-1")
    assert first == {"_id": "t-1", "name": "a", "version": 1}  # bookkeeping and internal fields hidden

    def rename(current: Document) -> aggregates.Decision:
        return {"$set": {"name": current["name"] + "b"}}, [_event("t-1")]

    after = await aggregates.change_at_version(db, things, "t-1", 1, rename,
                                               not_found=lambda: ProblemError(404, "Not found", "none"))
    assert (after["name"], after["version"]) == ("ab", 2)
    stored = await db[things.collection].find_one({"_id": "t-1"})
    assert stored is not None and len(stored["outbox"]) == 2  # the create's event and the change's


async def test_a_stale_if_match_is_412_and_changes_nothing(db: Database) -> None:
    things = _aggregate()
    await aggregates.create(db, things, {"_id": "t-1", "name": "a", "version": 3})
    with pytest.raises(ProblemError) as refused:
        await aggregates.change_at_version(db, things, "t-1", 2, lambda _doc: ({"$set": {"name": "z"}}, []),
                                           not_found=lambda: ProblemError(404, "Not found", "none"))
    assert refused.value.status == 412
    assert refused.value.extensions["current_etag"] == '"3"'
    assert await aggregates.read(db, things, "t-1") == {"_id": "t-1", "name": "a", "version": 3}


async def test_what_the_caller_may_not_see_is_not_found(db: Database) -> None:
    things = _aggregate()
    await aggregates.create(db, things, {"_id": "t-1", "owner": "A", "version": 1})
    with pytest.raises(ProblemError) as refused:
        await aggregates.change_at_version(db, things, "t-1", 1, lambda _doc: ({"$set": {"owner": "B"}}, []),
                                           not_found=lambda: ProblemError(404, "Not found", "none"),
                                           visible=lambda doc: doc["owner"] == "B")
    assert refused.value.status == 404


async def test_a_retried_create_reports_what_the_first_created(db: Database) -> None:
    things = _aggregate()
    await db[things.collection].create_index([("creation_key", 1)], unique=True)
    await aggregates.create(db, things, {"_id": "t-1", "version": 1, "creation_key": "caller:key-1"})
    with pytest.raises(aggregates.DuplicateCreation) as duplicate:
        await aggregates.create(db, things, {"_id": "t-2", "version": 1, "creation_key": "caller:key-1"})
    assert duplicate.value.earlier is not None and duplicate.value.earlier["_id"] == "t-1"
    assert await aggregates.read(db, things, "t-2") is None


async def test_a_claim_whose_insert_never_happened_is_taken_over(db: Database) -> None:
    """A request claimed its creation key and then failed before its insert (a crash, a store timeout):
    the retry with the same key creates the document, claims the key for it, and a third try replays."""
    things = _aggregate()
    await db[things.collection].create_index([("creation_key", 1)], unique=True)
    key_id = f"{things.collection}:caller:key-9"
    await db[aggregates.CREATION_KEYS].insert_one({"_id": key_id, "doc_id": "t-lost"})
    await aggregates.create(db, things, {"_id": "t-9", "version": 1, "creation_key": "caller:key-9"})
    assert await aggregates.read(db, things, "t-9") == {"_id": "t-9", "version": 1}
    assert await db[aggregates.CREATION_KEYS].find_one({"_id": key_id}) == {"_id": key_id, "doc_id": "t-9"}
    with pytest.raises(aggregates.DuplicateCreation) as duplicate:
        await aggregates.create(db, things, {"_id": "t-10", "version": 1, "creation_key": "caller:key-9"})
    assert duplicate.value.earlier is not None and duplicate.value.earlier["_id"] == "t-9"
    assert await aggregates.read(db, things, "t-10") is None


async def test_a_first_create_claims_its_key_for_its_document(db: Database) -> None:
    things = _aggregate()
    await aggregates.create(db, things, {"_id": "t-11", "version": 1, "creation_key": "caller:key-11"})
    claim = await db[aggregates.CREATION_KEYS].find_one({"_id": f"{things.collection}:caller:key-11"})
    assert claim is not None and claim["doc_id"] == "t-11"


async def test_a_create_without_a_callers_key_claims_nothing(db: Database) -> None:
    """A POST without Idempotency-Key carries a generated key no retry can name: no claim is written
    for it (a write per create, and a document kept for ever, saved), and a collision on `_id` is still
    reported as a duplicate that no earlier request of the caller made."""
    things = _aggregate()
    await db[things.collection].create_index([("creation_key", 1)], unique=True)
    claims_before = await db[aggregates.CREATION_KEYS].count_documents({})
    await aggregates.create(db, things, {"_id": "t-12", "version": 1, "creation_key": generated_creation_key()})
    assert await aggregates.read(db, things, "t-12") == {"_id": "t-12", "version": 1}
    assert await db[aggregates.CREATION_KEYS].count_documents({}) == claims_before
    with pytest.raises(aggregates.DuplicateCreation) as duplicate:
        await aggregates.create(db, things, {"_id": "t-12", "version": 1, "creation_key": generated_creation_key()})
    assert duplicate.value.earlier is None
    assert await db[aggregates.CREATION_KEYS].count_documents({}) == claims_before


async def test_concurrent_changes_in_one_process_are_serialised(db: Database) -> None:
    things = _aggregate()
    await aggregates.create(db, things, {"_id": "t-1", "count": 0, "version": 1})

    async def bump() -> None:
        async with aggregates.change(db, things, "t-1") as unit:
            assert unit.document is not None
            await asyncio.sleep(0)  # give the others every chance to interleave
            await unit.write({"$set": {"count": unit.document["count"] + 1}})

    await asyncio.gather(*(bump() for _ in range(20)))
    assert await aggregates.read(db, things, "t-1") == {"_id": "t-1", "count": 20, "version": 21}


async def test_a_write_based_on_a_stale_read_is_refused_on_a_compare_and_set_store(cas_db: Database) -> None:
    db = cas_db
    things = _aggregate()
    await aggregates.create(db, things, {"_id": "t-1", "name": "a", "version": 1})
    async with aggregates.change(db, things, "t-1") as unit:
        # Another replica changes the document between our read and our write.
        await db[things.collection].update_one({"_id": "t-1"}, {"$set": {"name": "other"}, "$inc": {"version": 1}})
        with pytest.raises(aggregates.StaleVersion) as moved:
            await unit.write({"$set": {"name": "mine"}})
    assert moved.value.current_version == 2 and moved.value.status == 412
    assert (await aggregates.read(db, things, "t-1") or {})["name"] == "other"


async def test_an_upsert_collides_with_a_document_created_meanwhile_on_a_compare_and_set_store(
        cas_db: Database) -> None:
    db = cas_db
    things = _aggregate()
    async with aggregates.change(db, things, "p-1") as unit:
        assert unit.document is None
        await db[things.collection].insert_one({"_id": "p-1", "entries": {"x": 1}, "version": 1})
        with pytest.raises(aggregates.StaleVersion):
            await unit.write({"$set": {"entries.y": 2}}, upsert=True)
    assert (await aggregates.read(db, things, "p-1") or {})["entries"] == {"x": 1}


async def test_a_sequence_never_repeats(db: Database) -> None:
    collection = f"counters_{uuid.uuid4().hex[:8]}"
    numbers = await asyncio.gather(*(aggregates.next_in_sequence(db, collection, "c-2026") for _ in range(30)))
    assert sorted(numbers) == list(range(1, 31))


def _tallied_things() -> tuple[Aggregate, str]:
    """Things counted by status, with the sum of their prices per status, in a tally of their own."""
    tally_id = f"things-{uuid.uuid4().hex[:8]}"

    def contribution(doc: Document) -> dict[str, dict[str, int]]:
        status = tallies.key(doc["status"])
        return {tally_id: {f"by_status.{status}": 1, f"price_by_status.{status}": int(doc.get("price") or 0)}}

    return Aggregate(f"things_{uuid.uuid4().hex[:8]}", tallied=contribution), tally_id


async def test_tallies_follow_creates_and_changes_and_a_recount_repairs_them(db: Database) -> None:
    things, tally_id = _tallied_things()
    for n in range(3):
        await aggregates.create(db, things, {"_id": f"t-{n}", "status": "draft", "price": 10 * (n + 1),
                                             "version": 1})
    assert tallies.amounts(await tallies.read(db, tally_id), "by_status") == {"draft": 3}

    async with aggregates.change(db, things, "t-0") as unit:
        await unit.write({"$set": {"status": "published"}})
        await unit.write({"$inc": {"price": 5}})  # a second write of the same unit starts from the first's state
    async with aggregates.change(db, things, "t-1") as unit:
        await unit.write({"$set": {"note": "not counted"}})  # moves nothing counted
    tally = await tallies.read(db, tally_id)
    assert tallies.amounts(tally, "by_status") == {"draft": 2, "published": 1}
    assert tallies.amounts(tally, "price_by_status") == {"draft": 50, "published": 15}
    assert (await aggregates.read(db, things, "t-0") or {}).get(tallies.TALLIED) is None  # hidden

    # A crash between a change and its count leaves the tally short; the bulk job recomputes it.
    await db[tallies.TALLIES].update_one({"_id": tally_id}, {"$inc": {"by_status.draft": 7}})
    await tallies.recount(db, [things])
    tally = await tallies.read(db, tally_id)
    assert tallies.amounts(tally, "by_status") == {"draft": 2, "published": 1}
    assert tallies.amounts(tally, "price_by_status") == {"draft": 50, "published": 15}


async def test_racing_changes_keep_a_tally_exact(db: Database) -> None:
    things, tally_id = _tallied_things()
    await aggregates.create(db, things, {"_id": "t", "status": "s0", "version": 1})

    async def bump() -> None:
        async with aggregates.change(db, things, "t") as unit:
            assert unit.document is not None
            await unit.write({"$set": {"status": f"s{int(unit.document['status'][1:]) + 1}"}})

    await asyncio.gather(*(bump() for _ in range(20)))
    assert tallies.amounts(await tallies.read(db, tally_id), "by_status") == {"s20": 1}


def _listed_things() -> Aggregate:
    """Things listed by their owner and their agent (servicekit.lookups)."""
    lookup = f"things_by_org_{uuid.uuid4().hex[:8]}"

    def lists(doc: Document) -> dict[str, list[str | None]]:
        return {lookup: [doc.get("owner"), doc.get("agent")]}

    return Aggregate(lookup, listed=lists)


async def test_lookups_follow_creates_and_changes(db: Database) -> None:
    things = _listed_things()
    name = things.collection  # the lookup is named like the collection in this test
    for n, owner in enumerate(("a", "a", "b")):
        await aggregates.create(db, things, {"_id": f"t-{n}", "owner": owner, "version": 1})
    assert _ids(await aggregates.listed(db, things, name, "a", limit=10)) == ["t-0", "t-1"]

    async with aggregates.change(db, things, "t-0") as unit:  # moves from a to b, with a as its agent
        await unit.write({"$set": {"owner": "b", "agent": "a"}})
    async with aggregates.change(db, things, "t-1") as unit:  # leaves a altogether
        await unit.write({"$set": {"owner": "c"}})
    assert _ids(await aggregates.listed(db, things, name, "a", limit=10)) == ["t-0"]
    in_b = _ids(await aggregates.listed(db, things, name, "b", limit=10))
    assert in_b == ["t-0", "t-2"]
    first_page = await aggregates.listed(db, things, name, "b", limit=1)
    second_page = await aggregates.listed(db, things, name, "b", limit=10, after=first_page[0]["_id"])
    assert sorted([first_page[0]["_id"], *[d["_id"] for d in second_page]]) == in_b  # a cursor pages through
    bucket = await db["lookups"].find_one({"_id": f"{name}:a:{lookups.bucket_of('t-1')}"})
    assert "t-1" not in lookups._members_of(bucket)  # taken off after the change that made it leave

    # A create that collides is taken off the lists it was written ahead to, but not the stored one's.
    with pytest.raises(aggregates.DuplicateCreation):
        await aggregates.create(db, things, {"_id": "t-2", "owner": "b", "agent": "d", "version": 1})
    assert await aggregates.listed(db, things, name, "d", limit=10) == []
    assert _ids(await aggregates.listed(db, things, name, "b", limit=10)) == ["t-0", "t-2"]


def _ids(docs: list[Document]) -> list[str]:
    return sorted(d["_id"] for d in docs)


async def test_a_listed_id_whose_document_is_not_stored_yet_is_skipped_not_dropped(db: Database) -> None:
    things = _listed_things()
    name = things.collection
    # What a create in flight looks like to a reader: written ahead to the lookup, not inserted yet.
    await lookups.add(db, [(name, "a")], "t-9")
    assert await aggregates.listed(db, things, name, "a", limit=10) == []
    await db[things.collection].insert_one({"_id": "t-9", "owner": "a", "version": 1})
    assert _ids(await aggregates.listed(db, things, name, "a", limit=10)) == ["t-9"]


async def test_ids_entering_several_lookups_at_once_concurrently_are_all_listed(db: Database) -> None:
    # Ids sharing buckets, added to and taken off several lookups side by side (as concurrent creates
    # and changes do), must neither wait on each other for ever nor overwrite each other's changes
    # (on FerretDB each bucket is rewritten whole from this process's copy, under its lock).
    name = f"things_by_org_{uuid.uuid4().hex[:8]}"
    ids = [f"t-{n}" for n in range(40)]
    await asyncio.gather(*(lookups.add(db, [(name, "a"), (name, "b"), (name, k)], i)
                           for i, k in zip(ids, ["c", "d"] * 20, strict=True)))
    await asyncio.gather(*(lookups.remove(db, [(name, "a"), (name, "c")], i) for i in ids[:10]))

    async def members(key: str) -> list[str]:
        head = await db["lookups"].find_one({"_id": lookups.head_id(name, key)})
        buckets = [await db["lookups"].find_one({"_id": f"{name}:{key}:{b}"}) for b in (head or {})["buckets"]]
        return sorted(i for bucket in buckets for i in lookups._members_of(bucket))

    assert await members("a") == sorted(ids[10:])
    assert await members("b") == sorted(ids)
    assert await members("c") == sorted(ids[10::2])
    assert await members("d") == sorted(ids[1::2])


async def test_a_bucket_written_the_old_way_is_read_and_then_moved_into_its_string(db: Database) -> None:
    things = _listed_things()
    name = things.collection
    bucket_id = f"{name}:a:{lookups.bucket_of('t-1')}"
    await db["lookups"].insert_one({"_id": f"{name}:a", "buckets": {lookups.bucket_of("t-1"): 1}})
    await db["lookups"].insert_one({"_id": bucket_id, "ids": {"t-1": 1}})  # as buckets were written before
    await db[things.collection].insert_one({"_id": "t-1", "owner": "a", "version": 1})
    assert _ids(await aggregates.listed(db, things, name, "a", limit=10)) == ["t-1"]
    await lookups.add(db, [(name, "a")], "t-1")  # already listed: nothing to add, but the map moves
    stored = await db["lookups"].find_one({"_id": bucket_id})
    assert stored is not None and stored["s"] == "t-1" and "ids" not in stored


async def test_a_bucket_changed_by_another_replica_between_read_and_write_keeps_both_changes(
        cas_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"things_by_org_{uuid.uuid4().hex[:8]}"
    bucket_id = f"{name}:a:{lookups.bucket_of('t-1')}"
    await lookups.add(cas_db, [(name, "a")], "t-1")
    stale = await cas_db["lookups"].find_one({"_id": bucket_id})
    await lookups._rewrite_bucket(cas_db, bucket_id, "t-2", True)  # the other replica's add
    reads = 0
    find_one = type(cas_db["lookups"]).find_one

    async def first_read_stale(self: object, *args: object, **kwargs: object) -> Document | None:
        nonlocal reads
        reads += 1
        return stale if reads == 1 else await find_one(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(type(cas_db["lookups"]), "find_one", first_read_stale)
    await lookups._rewrite_bucket(cas_db, bucket_id, "t-3", True)
    monkeypatch.undo()
    stored = await cas_db["lookups"].find_one({"_id": bucket_id})
    assert reads == 2, "the compare-and-set failed on the stale read and was repeated"
    assert stored is not None and lookups._members_of(stored) == ["t-1", "t-2", "t-3"] and stored["v"] == 3


async def test_a_bucket_this_process_wrote_last_is_changed_without_reading_it_on_ferretdb(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"things_by_org_{uuid.uuid4().hex[:8]}"
    bucket_id = f"{name}:a:{lookups.bucket_of('t-1')}"
    await lookups._rewrite_bucket(db, bucket_id, "t-1", True)
    reads = 0
    find_one = type(db["lookups"]).find_one

    async def counted(self: object, *args: object, **kwargs: object) -> Document | None:
        nonlocal reads
        reads += 1
        return await find_one(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(type(db["lookups"]), "find_one", counted)
    await lookups._rewrite_bucket(db, bucket_id, "t-2", True)
    await lookups._rewrite_bucket(db, bucket_id, "t-1", False)
    monkeypatch.undo()
    assert reads == (0 if STORE_TRAITS.only_id_filters_use_indexes else 2)
    stored = await db["lookups"].find_one({"_id": bucket_id})
    assert stored is not None and lookups._members_of(stored) == ["t-2"] and stored["v"] == 3


async def test_a_key_with_many_members_pages_through_all_of_them_once(db: Database) -> None:
    things = _listed_things()
    name = things.collection
    await asyncio.gather(*(aggregates.create(db, things, {"_id": f"t-{n:03d}", "owner": "big", "version": 1})
                           for n in range(300)))
    seen: list[str] = []
    after: str | None = None
    while True:
        page = await aggregates.listed(db, things, name, "big", limit=50, after=after)
        if not page:
            break
        seen += [d["_id"] for d in page]
        after = page[-1]["_id"]
    assert sorted(seen) == [f"t-{n:03d}" for n in range(300)] and len(seen) == 300
    head = await db["lookups"].find_one({"_id": f"{name}:big"})
    assert head is not None and len(head["buckets"]) > 100  # spread over many small documents
