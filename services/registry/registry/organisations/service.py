"""Use cases for organisations: rules, store and events together, free of HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from servicekit.auth import Principal
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint, key_reused, stale
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from registry.organisations import store
from registry.organisations.domain import OrganisationStatus
from registry.organisations.events import OrganisationRegistered, OrganisationSnapshot, OrganisationUpdated
from registry.organisations.models import OrganisationCreate, OrganisationUpdate

SOURCE = "/ipo/registry"


def _snapshot_event(kind: type[OrganisationSnapshot], doc: Document) -> CloudEvent:
    payload = kind(
        organisation_id=doc["_id"], credit_code=doc["credit_code"], name=doc["name"], kind=doc["kind"],
        region_code=doc["region_code"], status=doc["status"], version=doc["version"],
        occurred_at=doc["updated_at"],
    )
    return CloudEvent.new(SOURCE, doc["_id"], payload)


async def register(ctx: ServiceContext, data: OrganisationCreate, caller: Principal,
                   idempotency_key: str | None) -> tuple[Document, bool]:
    """Register an organisation; returns it and whether it was created now (False: a replayed request)."""
    collection = ctx.db[store.COLLECTION]
    now = datetime.now(UTC)
    body = data.model_dump(mode="json")
    doc: Document = {
        # The credit code identifies an organisation for life, so it is the id as well.
        "_id": data.credit_code, **body, "status": OrganisationStatus.ACTIVE.value, "version": 1,
        "registered_at": now, "updated_at": now,
        "creation_key": creation_key(caller.subject, idempotency_key), "creation_fingerprint": fingerprint(body),
    }
    event = _snapshot_event(OrganisationRegistered, doc)
    try:
        async with ctx.locks.hold(store.COLLECTION, doc["_id"]):
            await store.insert(collection, doc, [event])
    except store.DuplicateOrganisation as dup:
        earlier = dup.same_request
        if earlier is not None:
            if earlier.get("creation_fingerprint") != doc["creation_fingerprint"]:
                raise key_reused() from None
            return await _public(ctx, earlier["_id"]), False
        raise ProblemError(409, "Organisation already registered",
                           f"An organisation with credit code {data.credit_code} is already registered.",
                           kind="duplicate-organisation", existing_id=data.credit_code,
                           errors=[{"pointer": "#/credit_code", "detail": "already registered"}]) from None
    ctx.relay.notify(store.COLLECTION, doc["_id"])
    return await _public(ctx, doc["_id"]), True


async def change(ctx: ServiceContext, organisation_id: str, data: OrganisationUpdate,
                 expected_version: int) -> Document:
    collection = ctx.db[store.COLLECTION]
    changes: dict[str, Any] = data.model_dump(mode="json", exclude_unset=True)
    async with ctx.locks.hold(store.COLLECTION, organisation_id):
        current = await store.get(collection, organisation_id)
        if current is None:
            raise not_found(organisation_id)
        if current["version"] != expected_version:
            raise stale(current["version"])
        changes["updated_at"] = datetime.now(UTC)
        after = {**current, **changes, "version": expected_version + 1}
        event = _snapshot_event(OrganisationUpdated, after)
        if not await store.update(collection, organisation_id, expected_version, changes, [event]):
            latest = await store.get(collection, organisation_id)
            raise stale(latest["version"] if latest else expected_version)
    ctx.relay.notify(store.COLLECTION, organisation_id)
    return await _public(ctx, organisation_id)


async def _public(ctx: ServiceContext, organisation_id: str) -> Document:
    doc = await store.get(ctx.db[store.COLLECTION], organisation_id)
    if doc is None:
        raise not_found(organisation_id)
    return doc


async def find(ctx: ServiceContext, organisation_id: str) -> Document:
    return await _public(ctx, organisation_id)


def not_found(organisation_id: str) -> ProblemError:
    return ProblemError(404, "Not found", f"No organisation {organisation_id} is registered.", kind="not-found")
