"""Use cases for organisations: rules, store and events together, free of HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint, key_reused
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
    now = aggregates.stored_now()
    body = data.model_dump(mode="json")
    doc: Document = {
        # The credit code identifies an organisation for life, so it is the id as well.
        "_id": data.credit_code, **body, "status": OrganisationStatus.ACTIVE.value, "version": 1,
        "registered_at": now, "updated_at": now,
        "creation_key": creation_key(caller.subject, idempotency_key), "creation_fingerprint": fingerprint(body),
    }
    event = _snapshot_event(OrganisationRegistered, doc)
    try:
        await aggregates.create(ctx.db, store.AGGREGATE, doc, [event])
    except aggregates.DuplicateCreation as dup:
        earlier = dup.earlier
        if earlier is not None:
            if earlier.get("creation_fingerprint") != doc["creation_fingerprint"]:
                raise key_reused() from None
            return await _public(ctx, earlier["_id"]), False
        raise ProblemError(409, "Organisation already registered",
                           f"An organisation with credit code {data.credit_code} is already registered.",
                           kind="duplicate-organisation", existing_id=data.credit_code,
                           errors=[{"pointer": "#/credit_code", "detail": "already registered"}]) from None
    # Answered from what the insert wrote (not read back): a registration costs the store one read fewer.
    return store.AGGREGATE.visible(doc), True


async def change(ctx: ServiceContext, organisation_id: str, data: OrganisationUpdate,
                 expected_version: int) -> Document:
    changes: dict[str, Any] = data.model_dump(mode="json", exclude_unset=True)

    def decide(current: Document) -> aggregates.Decision:
        now = datetime.now(UTC)
        after = {**current, **changes, "updated_at": now, "version": current["version"] + 1}
        return {"$set": {**changes, "updated_at": now}}, [_snapshot_event(OrganisationUpdated, after)]

    return await aggregates.change_at_version(ctx.db, store.AGGREGATE, organisation_id, expected_version, decide,
                                              not_found=lambda: not_found(organisation_id))


async def _public(ctx: ServiceContext, organisation_id: str) -> Document:
    doc = await store.get(ctx.db[store.COLLECTION], organisation_id)
    if doc is None:
        raise not_found(organisation_id)
    return doc


async def find(ctx: ServiceContext, organisation_id: str) -> Document:
    return await _public(ctx, organisation_id)


def not_found(organisation_id: str) -> ProblemError:
    return ProblemError(404, "Not found", f"No organisation {organisation_id} is registered.", kind="not-found")
