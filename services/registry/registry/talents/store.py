"""Store access for talents: the one place that knows their document shape.

A talent's `_id` is its registration number. `identity_hash` (HMAC of the identity number) has a
unique index, so one person is registered once; `creation_key` makes a retried POST idempotent.
Both are bookkeeping and never leave this module in a read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import PROCESS_LOCKS, Collection, Database, Document, IndexSpec

from registry.targets.domain import contribution

COLLECTION = "talents"

INDEXES = (
    IndexSpec(COLLECTION, (("identity_hash", 1),), unique=True),
    IndexSpec(COLLECTION, (("creation_key", 1),), unique=True),
)
# A login's talent: `_id` = the account subject, `talent_id` (read by `_id`, see `holder_of`).
ACCOUNTS = "talent_accounts"

EVERY_TALENT = "talents"
BY_EMPLOYER = "talents_by_employer"
BY_CITY = "talents_by_city"
INTERNAL_FIELDS = ("outbox", "creation_key", "creation_fingerprint", "identity_hash", "applied_events",
                   "last_change")
# Every change goes through the kit's unit of work (servicekit.aggregates) with this description; each
# talent's share of the targets, pools and gauges is kept in the talent tally with the change
# (servicekit.tallies, registry.targets.domain.contribution).
AGGREGATE = Aggregate(COLLECTION, internal_fields=INTERNAL_FIELDS, tallied=contribution, listed=lambda doc: {
    # The list pages' lookups (servicekit.lookups): every talent, and by employer and by city.
    EVERY_TALENT: [aggregates.EVERYTHING], BY_EMPLOYER: [doc.get("employer_organisation_id")],
    BY_CITY: [doc.get("city_code")]})
HIDDEN = AGGREGATE.hidden()


class DuplicateTalent(Exception):
    """The insert collided with an existing document: `same_request` is the one an earlier request
    with this idempotency key created, `same_person` the one with this identity hash; both None
    means the registration number itself was taken (retry with the next number)."""

    def __init__(self, same_request: Document | None, same_person: Document | None) -> None:
        self.same_request = same_request
        self.same_person = same_person


async def insert(db: Database, document: Document, events: Sequence[CloudEvent]) -> None:
    try:
        await aggregates.create(db, AGGREGATE, document, events, find_earlier=False)
    except aggregates.DuplicateCreation as exc:
        # Which unique index fired is the server's choice: look each key up (a rare path; these
        # filters scan on FerretDB).
        collection = db[COLLECTION]
        earlier = await collection.find_one({"creation_key": document["creation_key"]}, {"_id": 1,
                                            "creation_fingerprint": 1})
        person = await collection.find_one({"identity_hash": document["identity_hash"]}, {"_id": 1})
        raise DuplicateTalent(earlier, person) from exc


async def get(collection: Collection, talent_id: str) -> Document | None:
    return await collection.find_one({"_id": talent_id}, HIDDEN)


async def exists(collection: Collection, talent_id: str) -> bool:
    return await collection.find_one({"_id": talent_id}, {"_id": 1}) is not None


# --- A login's own record: one lookup document per account subject, by `_id` -----------------------
#
# Written BEFORE the talent write that binds the account (under `aggregates.exclusive("talent-account",
# subject)`, held by every binding), so a bound talent always has its lookup. A write that then fails
# leaves a lookup pointing to a talent that does not carry the subject: `holder_of` treats that as no
# holder, and the next binding of the subject overwrites it (`forget_account` removes it earlier).

async def holder_of(db: Database, subject: str, *, correct: bool = False) -> Document | None:
    """The talent bound to this login, or None: no lookup, or one a write that did not happen left
    behind (removed when `correct`, which the caller may only ask while holding the binding lock)."""
    link = await db[ACCOUNTS].find_one({"_id": subject})
    if link is None:
        return None
    doc = await get(db[COLLECTION], link["talent_id"])
    if doc is not None and doc.get("account_subject") == subject:
        return doc
    if correct:
        await forget_account(db, subject)
    return None


async def link_account(db: Database, subject: str, talent_id: str) -> None:
    async with PROCESS_LOCKS.hold(ACCOUNTS, subject):
        await db[ACCOUNTS].replace_one({"_id": subject}, {"talent_id": talent_id}, upsert=True)


async def forget_account(db: Database, subject: str) -> None:
    """Remove a lookup whose talent does not carry the subject (the caller holds the binding lock)."""
    async with PROCESS_LOCKS.hold(ACCOUNTS, subject):
        await db[ACCOUNTS].delete_one({"_id": subject})


async def page(collection: Collection, filters: dict[str, Any], after: str | None, limit: int) -> list[Document]:
    """A page of talents matching `filters`, from the employer's or city's lookup when the filters name
    one, else from the lookup of every talent (servicekit.aggregates.filtered_page)."""
    return await aggregates.filtered_page(collection.database, AGGREGATE, filters, after=after, limit=limit,
                                          by={"employer_organisation_id": BY_EMPLOYER, "city_code": BY_CITY},
                                          everything=EVERY_TALENT)
