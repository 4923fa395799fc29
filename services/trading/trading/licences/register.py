"""The per-patent deal register: one document per patent (_id = application number) holding what the
deal rules must see all at once: the scopes of the licences granted, the pledges in force and the
registered transfers.

Why one document per patent: the conflict rules compare a new licence with every licence already on
the patent, and "no transfer while pledged" compares a transfer with every pledge. Without
multi-document transactions, two signings racing on one patent could both check, both find no
conflict and both insert. Putting every fact the check reads in one document makes check-and-add a
single-document write, and serialising those writes closes the race:

- in the writing process, `DocumentLocks` serialises writers of one patent's register (FerretDB 1.x
  applies an update as read-modify-replace, so even a guarded update is not atomic there; the API is
  the collection's single writing process, so an in-process lock is enough locally);
- every write is also a compare-and-set on `version` (`{_id, version}` filter, `$inc`), so on real
  MongoDB with several API replicas a write based on a stale read matches nothing and is retried from
  a fresh read instead of overwriting a concurrent one.

The licence, pledge or transfer document itself (with its events in its outbox) is written after the
register entry. Entries are keyed by the deal's id, which is derived from the negotiation (licence
`LIC-<negotiation>`), so a request that crashed in between is completed by its retry: the entry is
found already there and the deal document is written then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pymongo.errors import DuplicateKeyError
from servicekit.mongo import Database, Document, DocumentLocks

from trading.licences.domain import Conflict, GrantedLicence, LicenceType, first_conflict
from trading.licences.scope import Scope
from trading.pledges.domain import blocking_pledge

COLLECTION = "patent_registers"
MAX_ATTEMPTS = 5


class RegisterBusy(Exception):
    """Another writer kept winning the compare-and-set; the caller answers 503 and the client retries."""


@dataclass(frozen=True)
class Blocked:
    """A pledge in force blocks the transfer."""

    pledge_id: str


def scope_entry(licence_type: LicenceType, scope: Scope) -> dict[str, Any]:
    return {"licence_type": licence_type.value,
            "fields_of_use": sorted(f.symbol for f in scope.fields),
            "territories": sorted(t.code for t in scope.territories),
            "first_day": scope.term.first_day.isoformat(), "last_day": scope.term.last_day.isoformat()}


def granted_licences(register: Document | None) -> list[GrantedLicence]:
    entries: dict[str, Any] = (register or {}).get("licences") or {}
    return [GrantedLicence(licence_id, LicenceType(e["licence_type"]),
                           Scope.of(e["fields_of_use"], e["territories"], date.fromisoformat(e["first_day"]),
                                    date.fromisoformat(e["last_day"])))
            for licence_id, e in entries.items()]


def active_pledges(register: Document | None) -> list[str]:
    return list(((register or {}).get("pledges") or {}).keys())


async def get(db: Database, application_number: str) -> Document | None:
    return await db[COLLECTION].find_one({"_id": application_number})


async def _compare_and_set(db: Database, application_number: str, current: Document | None,
                           changes: dict[str, Any]) -> bool:
    """Write `changes` ($set/$unset operators) if the register is still as read; False if it moved."""
    collection = db[COLLECTION]
    if current is None:
        document: dict[str, Any] = {"_id": application_number, "version": 1, "licences": {}, "pledges": {},
                                    "transfers": {}}
        for path, value in changes.get("$set", {}).items():
            section, key = path.split(".", 1)
            document[section][key] = value
        try:
            await collection.insert_one(document)
        except DuplicateKeyError:
            return False
        return True
    update: dict[str, Any] = {**changes, "$inc": {"version": 1}}
    result = await collection.update_one({"_id": application_number, "version": current["version"]}, update)
    return result.modified_count == 1


async def reserve_licence(db: Database, locks: DocumentLocks, application_number: str, licence_id: str,
                          licence_type: LicenceType, scope: Scope, *, patent_has_open_licence: bool) -> Conflict | None:
    """Add the licence's scope to the patent's register unless it conflicts; returns the conflict, if any.
    Idempotent: a licence already in the register is not checked against itself again."""
    async with locks.hold(COLLECTION, application_number):
        for _ in range(MAX_ATTEMPTS):
            register = await get(db, application_number)
            if licence_id in ((register or {}).get("licences") or {}):
                return None
            conflict = first_conflict(licence_type, scope, granted_licences(register),
                                      patent_has_open_licence=patent_has_open_licence)
            if conflict is not None:
                return conflict
            if await _compare_and_set(db, application_number, register,
                                      {"$set": {f"licences.{licence_id}": scope_entry(licence_type, scope)}}):
                return None
    raise RegisterBusy(application_number)


async def check_not_pledged(db: Database, application_number: str) -> Blocked | None:
    register = await get(db, application_number)
    pledge = blocking_pledge(active_pledges(register))
    return Blocked(pledge) if pledge else None


async def register_transfer(db: Database, locks: DocumentLocks, application_number: str, transfer_id: str,
                            assignee_organisation_id: str) -> Blocked | None:
    """Record the transfer unless a pledge is in force (checked and written as one compare-and-set, so
    a pledge registered at the same moment is either seen or refused)."""
    async with locks.hold(COLLECTION, application_number):
        for _ in range(MAX_ATTEMPTS):
            register = await get(db, application_number)
            if transfer_id in ((register or {}).get("transfers") or {}):
                return None
            pledge = blocking_pledge(active_pledges(register))
            if pledge is not None:
                return Blocked(pledge)
            if await _compare_and_set(db, application_number, register,
                                      {"$set": {f"transfers.{transfer_id}": assignee_organisation_id}}):
                return None
    raise RegisterBusy(application_number)


async def add_pledge(db: Database, locks: DocumentLocks, application_number: str, pledge_id: str,
                     amount_fen: int) -> None:
    async with locks.hold(COLLECTION, application_number):
        for _ in range(MAX_ATTEMPTS):
            register = await get(db, application_number)
            if pledge_id in active_pledges(register):
                return
            if await _compare_and_set(db, application_number, register,
                                      {"$set": {f"pledges.{pledge_id}": {"amount_fen": amount_fen}}}):
                return
    raise RegisterBusy(application_number)


async def remove_pledge(db: Database, locks: DocumentLocks, application_number: str, pledge_id: str) -> None:
    async with locks.hold(COLLECTION, application_number):
        for _ in range(MAX_ATTEMPTS):
            register = await get(db, application_number)
            if register is None or pledge_id not in active_pledges(register):
                return
            if await _compare_and_set(db, application_number, register, {"$unset": {f"pledges.{pledge_id}": ""}}):
                return
    raise RegisterBusy(application_number)
