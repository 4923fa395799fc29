"""Use cases for talents: rules, store and events together, free of HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal, Role
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint, key_reused
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from registry import counters
from registry.organisations import store as organisation_store
from registry.organisations.domain import OrganisationStatus
from registry.organisations.identifiers import city_of
from registry.settings import RegistrySettings
from registry.talents import store
from registry.talents.domain import (
    TalentCategory,
    TalentLevel,
    TalentStatus,
    TransitionRefused,
    check_status_change,
    highest_level,
    registration_number,
)
from registry.talents.events import (
    TalentCertified,
    TalentRegistered,
    TalentSnapshot,
    TalentStatusChanged,
    TalentUpdated,
)
from registry.talents.identity import identity_hash
from registry.talents.models import StatusChange, TalentCreate, TalentUpdate
from registry.targets.refresh import mark_stale

SOURCE = "/ipo/registry"
STAFF = (Role.COORDINATOR, Role.OFFICER)
# A fresh registration number that is somehow taken (a counter reset) is retried with the next one.
_NUMBER_ATTEMPTS = 5


def snapshot_fields(doc: Document) -> dict[str, Any]:
    return {
        "talent_id": doc["_id"], "registration_number": doc["registration_number"], "name": doc["name"],
        "employer_organisation_id": doc["employer_organisation_id"], "region_code": doc["region_code"],
        "categories": doc["categories"], "level": doc["level"], "status": doc["status"],
        "version": doc["version"], "occurred_at": doc["updated_at"], "account_subject": doc.get("account_subject"),
    }


def _event(kind: type[TalentSnapshot], doc: Document, **extra: Any) -> CloudEvent:
    return CloudEvent.new(SOURCE, doc["_id"], kind(**snapshot_fields(doc), **extra))


def _settings(ctx: ServiceContext) -> RegistrySettings:
    settings = ctx.settings
    assert isinstance(settings, RegistrySettings)
    return settings


async def _employer(ctx: ServiceContext, organisation_id: str) -> Document:
    """The employer must be an organisation the registry knows, and still active."""
    org = await organisation_store.get(ctx.db[organisation_store.COLLECTION], organisation_id)
    pointer = [{"pointer": "#/employer_organisation_id", "detail": "not an active registered organisation"}]
    if org is None:
        raise ProblemError(422, "Unknown employer",
                           f"No organisation with credit code {organisation_id} is registered; register it first.",
                           kind="unknown-employer", errors=pointer)
    if org["status"] != OrganisationStatus.ACTIVE.value:
        raise ProblemError(422, "Employer not active",
                           f"Organisation {organisation_id} is {org['status']}; a talent's employer must be active.",
                           kind="employer-not-active", errors=pointer)
    return org


# Binding a login to a talent: the check, the lookup (written first) and the talent write hold this lock on
# the subject, so two requests cannot bind one login twice (the API is the one writer of talents).
ACCOUNT_BINDING = "talent-account"


@asynccontextmanager
async def _binding(subject: str | None) -> AsyncIterator[None]:
    if subject:
        async with aggregates.exclusive(ACCOUNT_BINDING, subject):
            yield
    else:
        yield


async def _account_free(ctx: ServiceContext, subject: str, talent_id: str | None) -> None:
    """Refuse a login bound to another talent (the caller holds `_binding(subject)`)."""
    holder = await store.holder_of(ctx.db, subject, correct=True)
    if holder is not None and holder["_id"] != talent_id:
        raise ProblemError(409, "Account already bound",
                           "This login is already bound to another talent record.", kind="account-bound",
                           errors=[{"pointer": "#/account_subject", "detail": "bound to another talent"}])


async def register(ctx: ServiceContext, data: TalentCreate, caller: Principal,
                   idempotency_key: str | None) -> tuple[Document, bool]:
    """Register a talent; returns it and whether it was created now (False: a replayed request)."""
    hashed = identity_hash(_settings(ctx).identity_key(), data.identity_number.get_secret_value())
    # The fingerprint is of the body with the identity number replaced by its keyed hash: a plain
    # SHA-256 of a resident ID could be reversed by trying every plausible number.
    body = data.model_dump(mode="json", exclude={"identity_number"})
    key = creation_key(caller.subject, idempotency_key)
    request_print = fingerprint({**body, "identity_hash": hashed})
    employer = await _employer(ctx, data.employer_organisation_id)
    subject = data.account_subject
    async with _binding(subject):
        if subject:
            await _account_free(ctx, subject, None)
        return await _insert_numbered(ctx, body, hashed, employer, key, request_print, caller)


async def _insert_numbered(ctx: ServiceContext, body: dict[str, Any], hashed: str, employer: Document,
                           key: str, request_print: str, caller: Principal) -> tuple[Document, bool]:
    now = datetime.now(UTC)
    subject = body.get("account_subject")
    for _ in range(_NUMBER_ATTEMPTS):
        number = registration_number(now.year, await counters.next_value(ctx.db, "talent", now.year))
        doc: Document = {
            "_id": number, "registration_number": number, **body,
            "employer_kind": employer["kind"], "city_code": city_of(body["region_code"]),
            "level": None, "certifications": [], "status": TalentStatus.ACTIVE.value,
            "status_history": [{"status": TalentStatus.ACTIVE.value, "previous_status": None,
                                "reason": "registered", "changed_at": now, "changed_by": caller.subject}],
            "identity_hash": hashed, "version": 1, "registered_at": now, "updated_at": now,
            "creation_key": key, "creation_fingerprint": request_print,
        }
        if subject:
            # Before the insert, so the bound talent always has its lookup (see store.holder_of).
            await store.link_account(ctx.db, subject, number)
        try:
            await store.insert(ctx.db, doc, [_event(TalentRegistered, doc)])
        except store.DuplicateTalent as dup:
            if subject:
                await store.forget_account(ctx.db, subject)  # it points to a talent not stored
            if dup.same_request is not None:
                if dup.same_request.get("creation_fingerprint") != request_print:
                    raise key_reused() from None
                return await _get(ctx, dup.same_request["_id"]), False
            if dup.same_person is not None:
                raise ProblemError(409, "Talent already registered",
                                   "A talent with this identity number is already registered.",
                                   kind="duplicate-talent", existing_id=dup.same_person["_id"],
                                   errors=[{"pointer": "#/identity_number", "detail": "already registered"}]
                                   ) from None
            continue  # the number itself was taken: take the next one
        mark_stale()
        return await _get(ctx, number), True
    raise ProblemError(503, "Numbering unavailable", "No free registration number could be taken; retry.",
                       kind="numbering-unavailable")


async def change(ctx: ServiceContext, talent_id: str, data: TalentUpdate, expected_version: int) -> Document:
    changes: dict[str, Any] = data.model_dump(mode="json", exclude_unset=True)
    if "employer_organisation_id" in changes:
        changes["employer_kind"] = (await _employer(ctx, changes["employer_organisation_id"]))["kind"]
    if "region_code" in changes:
        changes["city_code"] = city_of(changes["region_code"])
    subject = changes.get("account_subject")

    def mutate(current: Document) -> aggregates.Decision:
        if current["status"] == TalentStatus.REMOVED.value:
            raise ProblemError(409, "Talent removed", f"Talent {talent_id} was removed; its record is closed.",
                               kind="talent-removed")
        now = datetime.now(UTC)
        after = {**current, **changes, "updated_at": now, "version": current["version"] + 1}
        return {"$set": {**changes, "updated_at": now}}, [_event(TalentUpdated, after)]

    async with _binding(subject):
        if subject:
            await _account_free(ctx, subject, talent_id)
            # Before the talent write, so the bound talent always has its lookup (see store.holder_of).
            await store.link_account(ctx.db, subject, talent_id)
        return await _write(ctx, talent_id, expected_version, mutate)


async def change_status(ctx: ServiceContext, talent_id: str, data: StatusChange, expected_version: int,
                        caller: Principal) -> Document:
    def mutate(current: Document) -> aggregates.Decision:
        previous = TalentStatus(current["status"])
        try:
            check_status_change(previous, data.status)
        except TransitionRefused as exc:
            raise ProblemError(409, "Status change refused", str(exc), kind="status-change-refused",
                               current_status=previous.value,
                               errors=[{"pointer": "#/status", "detail": str(exc)}]) from None
        now = datetime.now(UTC)
        entry = {"status": data.status.value, "previous_status": previous.value, "reason": data.reason,
                 "changed_at": now, "changed_by": caller.subject}
        after = {**current, "status": data.status.value, "updated_at": now, "version": current["version"] + 1}
        ops: dict[str, dict[str, Any]] = {"$set": {"status": data.status.value, "updated_at": now},
                                          "$push": {"status_history": entry}}
        return ops, [_event(TalentStatusChanged, after, reason=data.reason)]

    return await _write(ctx, talent_id, expected_version, mutate)


async def certify(ctx: ServiceContext, talent_id: str, level: TalentLevel, category: TalentCategory,
                  certificate: str, evaluation_id: str) -> Document:
    """Record a granted certification on the talent and publish talent.certified, once: re-running it
    for the same evaluation (a grant interrupted half-way and retried) changes nothing."""
    async with aggregates.change(ctx.db, store.AGGREGATE, talent_id) as unit:
        current = unit.document
        if current is None:
            raise not_found(talent_id)
        if any(c.get("evaluation_id") == evaluation_id for c in current.get("certifications", [])):
            return await _get(ctx, talent_id)
        now = datetime.now(UTC)
        entry = {"level": level.value, "category": category.value, "certificate_number": certificate,
                 "evaluation_id": evaluation_id, "granted_at": now}
        new_level = highest_level([current["level"], level])
        assert new_level is not None
        after = {**current, "level": new_level.value, "updated_at": now, "version": current["version"] + 1}
        event = _event(TalentCertified, after, certified_level=level, certified_category=category,
                       certificate_number=certificate)
        try:
            await unit.write({"$set": {"level": new_level.value, "updated_at": now},
                              "$push": {"certifications": entry}}, [event])
        except aggregates.StaleVersion:
            raise ProblemError(409, "Talent changed", "The talent changed while it was being certified; retry.",
                               kind="concurrent-change") from None
    mark_stale()
    return await _get(ctx, talent_id)


Mutation = Callable[[Document], aggregates.Decision]


async def _write(ctx: ServiceContext, talent_id: str, expected_version: int, mutate: Mutation) -> Document:
    """Read, check the version the caller saw, apply `mutate`'s update and events in one write."""
    doc = await aggregates.change_at_version(ctx.db, store.AGGREGATE, talent_id, expected_version, mutate,
                                             not_found=lambda: not_found(talent_id))
    mark_stale()
    return doc


async def _get(ctx: ServiceContext, talent_id: str) -> Document:
    doc = await store.get(ctx.db[store.COLLECTION], talent_id)
    if doc is None:
        raise not_found(talent_id)
    return doc


async def find_any(ctx: ServiceContext, talent_id: str) -> Document:
    """The whole stored record (without bookkeeping), for use cases that decide what to show."""
    return await _get(ctx, talent_id)


def may_see_full(caller: Principal, doc: Document) -> bool:
    """Staff see every record in full; a talent sees its own (its login bound at registration)."""
    return caller.has_any(STAFF) or (doc.get("account_subject") is not None
                                     and doc["account_subject"] == caller.subject)


async def find_for(ctx: ServiceContext, talent_id: str, caller: Principal) -> Document:
    """The full record if the caller may see it; otherwise the same 404 as for a missing talent, so
    nobody learns whose records exist by probing."""
    doc = await store.get(ctx.db[store.COLLECTION], talent_id)
    if doc is None or not may_see_full(caller, doc):
        raise not_found(talent_id)
    return doc


async def find_own(ctx: ServiceContext, caller: Principal) -> Document:
    async with _binding(caller.subject):
        doc = await store.holder_of(ctx.db, caller.subject, correct=True)
    if doc is None:
        raise ProblemError(404, "Not found", "No talent record is bound to this login.", kind="not-found")
    return doc


def not_found(talent_id: str) -> ProblemError:
    return ProblemError(404, "Not found", f"No talent {talent_id} is registered.", kind="not-found")
