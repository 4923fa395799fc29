"""The per-patent deal register: one document per patent (_id = application number) holding what the
deal rules must see all at once: the scopes of the licences granted, the pledges in force and the
registered transfers.

Why one document per patent: the conflict rules compare a new licence with every licence already on
the patent, and "no transfer while pledged" compares a transfer with every pledge. Without
multi-document transactions, two signings racing on one patent could both check, both find no
conflict and both insert. Putting every fact the check reads in one document makes check-and-add a
single-document write, and the kit's unit of work (servicekit.aggregates) closes the race: on
FerretDB it serialises the writers of one patent's register in the writing process (the API, the
collection's single writer) and writes by `_id`; on MongoDB with several API replicas each write is a
compare-and-set on `version`, so a write based on a stale read matches nothing and is retried from a
fresh read instead of overwriting a concurrent one.

The licence, pledge or transfer document itself (with its events in its outbox) is written after the
register entry. Entries are keyed by the deal's id, which is derived from the negotiation (licence
`LIC-<negotiation>`), so a request that crashed in between is completed by its retry: the entry is
found already there and the deal document is written then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from servicekit import aggregates
from servicekit.aggregates import Aggregate
from servicekit.mongo import Database, Document

from trading.licences.domain import Conflict, GrantedLicence, LicenceType, first_conflict
from trading.licences.scope import Scope
from trading.pledges.domain import blocking_pledge

COLLECTION = "patent_registers"
AGGREGATE = Aggregate(COLLECTION)
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
    return await aggregates.read(db, AGGREGATE, application_number)


Outcome = TypeVar("Outcome")


async def _change(db: Database, application_number: str,
                  decide: Callable[[Document | None], tuple[Outcome, dict[str, Any] | None]]) -> Outcome:
    """One check-and-write of a patent's register in the kit's unit of work: `decide(register)` returns
    the outcome and the update to write (None: nothing to write). The first entry creates the document
    (an upsert). On MongoDB the write is a compare-and-set, retried on a concurrent change."""
    for _ in range(MAX_ATTEMPTS):
        async with aggregates.change(db, AGGREGATE, application_number) as unit:
            outcome, update = decide(unit.document)
            if update is None:
                return outcome
            try:
                await unit.write(update, upsert=True)
            except aggregates.StaleVersion:
                continue
            return outcome
    raise RegisterBusy(application_number)


async def reserve_licence(db: Database, application_number: str, licence_id: str, licence_type: LicenceType,
                          scope: Scope, *, patent_has_open_licence: bool) -> Conflict | None:
    """Add the licence's scope to the patent's register unless it conflicts; returns the conflict, if any.
    Idempotent: a licence already in the register is not checked against itself again."""
    def decide(register: Document | None) -> tuple[Conflict | None, dict[str, Any] | None]:
        if licence_id in ((register or {}).get("licences") or {}):
            return None, None
        conflict = first_conflict(licence_type, scope, granted_licences(register),
                                  patent_has_open_licence=patent_has_open_licence)
        if conflict is not None:
            return conflict, None
        return None, {"$set": {f"licences.{licence_id}": scope_entry(licence_type, scope)}}

    return await _change(db, application_number, decide)


async def check_not_pledged(db: Database, application_number: str) -> Blocked | None:
    register = await get(db, application_number)
    pledge = blocking_pledge(active_pledges(register))
    return Blocked(pledge) if pledge else None


async def register_transfer(db: Database, application_number: str, transfer_id: str,
                            assignee_organisation_id: str) -> Blocked | None:
    """Record the transfer unless a pledge is in force (checked and written as one single-document
    write, so a pledge registered at the same moment is either seen or refused)."""
    def decide(register: Document | None) -> tuple[Blocked | None, dict[str, Any] | None]:
        if transfer_id in ((register or {}).get("transfers") or {}):
            return None, None
        pledge = blocking_pledge(active_pledges(register))
        if pledge is not None:
            return Blocked(pledge), None
        return None, {"$set": {f"transfers.{transfer_id}": assignee_organisation_id}}

    return await _change(db, application_number, decide)


async def add_pledge(db: Database, application_number: str, pledge_id: str, amount_fen: int) -> None:
    def decide(register: Document | None) -> tuple[None, dict[str, Any] | None]:
        if pledge_id in active_pledges(register):
            return None, None
        return None, {"$set": {f"pledges.{pledge_id}": {"amount_fen": amount_fen}}}

    await _change(db, application_number, decide)


async def remove_pledge(db: Database, application_number: str, pledge_id: str) -> None:
    def decide(register: Document | None) -> tuple[None, dict[str, Any] | None]:
        if register is None or pledge_id not in active_pledges(register):
            return None, None
        return None, {"$unset": {f"pledges.{pledge_id}": ""}}

    await _change(db, application_number, decide)
