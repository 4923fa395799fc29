"""Counts and sums kept incrementally, so gauges and statistics read one document by `_id` instead of
recounting a collection.

An aggregate that feeds tallies says so once, in its description: `Aggregate(..., tallied=contribution)`,
where `contribution(document)` maps the document's state to what it adds to which tally, e.g. a signed
ordinary licence at fair F:

    {"licences": {"by_type.ordinary": 1}, "fair:F": {"licences.count": 1, "licences.amount_fen": 500000}}

The aggregate seam (servicekit.aggregates) then keeps every tally equal to the sum of the current
contributions:

- the contribution a document is counted with is stored on the document itself (`TALLIED`, hidden like
  the outbox), in the same single-document write as the change that causes it, so on MongoDB's
  compare-and-set it can never disagree with the state it was computed from;
- after that write, the difference between the new contribution and the stored one is added to the
  tally documents (`$inc` by `_id`, in the `tallies` collection of the service's database).

So a status change moves one count from one key to another, a change that alters nothing counted costs
nothing, and the cost of a gauge no longer grows with the collection. The one gap: a crash (or a store
timeout) between the aggregate's write and the `$inc` leaves a tally short by that change. That is
repaired by a bulk job, never by a timer: `python -m <service> recount-tallies` recomputes every
contribution from the documents and rewrites the tallies (`recount`, below); the README says when to
run it.

Paths are MongoDB dotted paths inside the tally document; a key that is data (a licence type, a date,
an id) must not contain `.` or start with `$` (`key()` checks that).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from servicekit.mongo import PROCESS_LOCKS, Database, Document, run_bulk_job
from servicekit.updates import parent_of

if TYPE_CHECKING:
    from servicekit.aggregates import Aggregate
    from servicekit.settings import ServiceSettings

TALLIES = "tallies"
# The contribution a document is currently counted with, on the document (hidden from reads).
TALLIED = "tallied"

Contribution = dict[str, dict[str, int]]


def key(value: object) -> str:
    """A data value used as a path segment (a status, a date, an id): refused when it would split the
    path or read as an operator, instead of silently counting under the wrong key."""
    text = str(value)
    if not text or "." in text or text.startswith("$"):
        raise ValueError(f"{text!r} cannot be a tally key")
    return text


def normalised(contribution: Mapping[str, Mapping[str, int]] | None) -> Contribution:
    """Without zero amounts and empty tallies, so equal contributions compare equal."""
    result: Contribution = {}
    for tally_id, amounts in (contribution or {}).items():
        kept = {path: int(amount) for path, amount in amounts.items() if int(amount) != 0}
        if kept:
            result[str(tally_id)] = kept
    return result


def stored(contribution: Contribution) -> list[dict[str, Any]]:
    """How a contribution is kept on its document: a list of {t: tally id, p: path, n: amount} (field
    names in a stored document may not contain the dots of the paths, and FerretDB refuses nested
    arrays)."""
    return [{"t": tally_id, "p": path, "n": value} for tally_id, by_path in sorted(contribution.items())
            for path, value in sorted(by_path.items())]


def from_stored(value: Any) -> Contribution:
    """The contribution kept on a document by `stored` (none when absent)."""
    result: Contribution = {}
    for entry in value or []:
        result.setdefault(str(entry["t"]), {})[str(entry["p"])] = int(entry["n"])
    return normalised(result)


def difference(before: Contribution, after: Contribution) -> Contribution:
    """What to add to the tallies to go from counting `before` to counting `after`."""
    delta: Contribution = {}
    for tally_id in before.keys() | after.keys():
        old, new = before.get(tally_id, {}), after.get(tally_id, {})
        moved = {path: new.get(path, 0) - old.get(path, 0) for path in old.keys() | new.keys()}
        moved = {path: amount for path, amount in moved.items() if amount != 0}
        if moved:
            delta[tally_id] = moved
    return delta


async def add(db: Database, delta: Contribution) -> None:
    """Add `delta` to the tally documents, one `$inc` by `_id` each (held under the document's lock in
    this process: FerretDB applies `$inc` as read-modify-replace)."""
    for tally_id, amounts in sorted(delta.items()):
        async with PROCESS_LOCKS.hold(TALLIES, tally_id):
            await db[TALLIES].update_one({"_id": tally_id}, {"$inc": amounts}, upsert=True)


async def read(db: Database, tally_id: str) -> Document:
    """One tally document (nested by its dotted paths), empty when nothing was ever counted in it."""
    return await db[TALLIES].find_one({"_id": tally_id}, {"_id": 0}) or {}


def amount(tally: Mapping[str, Any], path: str) -> int:
    """The amount at a dotted path of a tally read by `read`, 0 when absent."""
    node: Any = tally
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return 0
        node = node[part]
    return int(node) if isinstance(node, int | float) else 0


def amounts(tally: Mapping[str, Any], path: str) -> dict[str, int]:
    """The amounts under a dotted path, by key (e.g. `by_type` -> {"ordinary": 3, "sole": 1}); keys whose
    amount went back to 0 are left out."""
    node: Any = tally
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return {}
        node = node[part]
    if not isinstance(node, Mapping):
        return {}
    return {str(k): int(v) for k, v in node.items() if isinstance(v, int | float) and int(v) != 0}


# --- The bulk repair -------------------------------------------------------------------------------------

async def recount(db: Database, aggregates: Sequence[Aggregate]) -> dict[str, int]:
    """A bulk job, never on a timer: recompute every contribution of these aggregates from their
    documents (storing it where it differs), and rewrite every tally as their sum. Scans each collection
    once. Run it while the service's API is stopped or quiet: a change made during the scan may be
    counted from its old state until the next run. Returns the documents read per collection."""
    totals: Contribution = {}
    read_per_collection: dict[str, int] = {}
    for aggregate in aggregates:
        contribution_of = aggregate.tallied
        if contribution_of is None:
            continue
        seen = 0
        async for doc in db[aggregate.collection].find({}):
            seen += 1
            contribution = normalised(contribution_of(doc))
            if contribution != from_stored(doc.get(TALLIED)):
                async with PROCESS_LOCKS.hold(aggregate.collection, doc["_id"]):
                    await db[aggregate.collection].update_one({"_id": doc["_id"]},
                                                              {"$set": {TALLIED: stored(contribution)}})
            _accumulate(totals, contribution)
        read_per_collection[aggregate.collection] = seen
    existing = [doc["_id"] async for doc in db[TALLIES].find({}, {"_id": 1})]
    for tally_id in sorted(set(existing) | totals.keys()):
        async with PROCESS_LOCKS.hold(TALLIES, tally_id):
            await db[TALLIES].replace_one({"_id": tally_id}, _nested(totals.get(tally_id, {})), upsert=True)
    return read_per_collection


async def recount_service(settings: ServiceSettings, aggregates: Sequence[Aggregate]) -> str:
    """`python -m <service> recount-tallies`."""
    async def job(db: Database) -> str:
        read_per_collection = await recount(db, aggregates)
        return "tallies recounted from " + (", ".join(f"{n} {c}" for c, n in read_per_collection.items())
                                            or "nothing")

    return await run_bulk_job(settings, job)


def _accumulate(totals: Contribution, contribution: Contribution) -> None:
    for tally_id, amounts_by_path in contribution.items():
        target = totals.setdefault(tally_id, {})
        for path, value in amounts_by_path.items():
            target[path] = target.get(path, 0) + value


def _nested(flat: Mapping[str, int]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        parent, leaf = parent_of(nested, path, create=True)
        if parent is not None:
            parent[leaf] = value
    return nested


def contributions(documents: Iterable[Document], aggregate: Aggregate) -> Contribution:
    """The sum of these documents' contributions (for tests and checks: what the tallies should read)."""
    totals: Contribution = {}
    if aggregate.tallied is not None:
        for doc in documents:
            _accumulate(totals, normalised(aggregate.tallied(doc)))
    return totals
