"""Use cases for demands."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from servicekit import aggregates
from servicekit.auth import Principal
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint, key_reused, stale
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from trading.demands import domain, store
from trading.demands.domain import DemandStatus
from trading.demands.events import DemandPosted
from trading.demands.models import DemandCreate
from trading.listings.metrics import LISTING_METRICS
from trading.listings.service import SOURCE, acting_organisation, is_staff
from trading.matching import store as match_store
from trading.matching.facts import demand_facts
from trading.matching.scoring import demand_filing_terms


def not_found(demand_id: str) -> ProblemError:
    return ProblemError(404, "Not found", f"No demand {demand_id} that you may see.", kind="not-found")


async def post(ctx: ServiceContext, data: DemandCreate, caller: Principal,
               idempotency_key: str | None) -> tuple[Document, bool]:
    """Post a demand; it is open at once and announced (demand.posted) in the same insert."""
    organisation = await acting_organisation(ctx.db, caller)
    now = datetime.now(UTC)
    body = data.model_dump(mode="json")
    doc: Document = {
        "_id": f"dmd-{uuid.uuid4().hex[:20]}", **body, "organisation_id": organisation,
        "status": DemandStatus.OPEN.value, "version": 1, "posted_at": now, "updated_at": now,
        "creation_key": creation_key(caller.subject, idempotency_key), "creation_fingerprint": fingerprint(body),
    }
    event = DemandPosted(demand_id=doc["_id"], organisation_id=organisation, title=data.title,
                         ipc_codes=doc["ipc_codes"], keywords=doc["keywords"], region_code=data.region_code,
                         deal_types=data.deal_types, budget_max_fen=data.budget_max_fen, version=1,
                         occurred_at=now)
    # Filed for the matchmaker before it exists, so a published listing can never miss it.
    terms = demand_filing_terms(demand_facts(doc))
    await match_store.file_demand(ctx.db, doc["_id"], terms)
    try:
        await store.insert(ctx.db, doc, [CloudEvent.new(SOURCE, doc["_id"], event)])
    except aggregates.DuplicateCreation as dup:
        await match_store.unfile_demand(ctx.db, doc["_id"], terms)
        if dup.earlier is None:
            raise
        if dup.earlier.get("creation_fingerprint") != doc["creation_fingerprint"]:
            raise key_reused() from None
        earlier = await store.get(ctx.db, dup.earlier["_id"])
        assert earlier is not None
        return earlier, False
    LISTING_METRICS.demands_posted.inc()
    created = await store.get(ctx.db, doc["_id"])
    assert created is not None
    return created, True


async def find(ctx: ServiceContext, demand_id: str, caller: Principal) -> Document:
    doc = await store.get(ctx.db, demand_id)
    if doc is None or not domain.may_read(caller.organisation_id, doc["organisation_id"], is_staff(caller)):
        raise not_found(demand_id)
    return doc


async def close(ctx: ServiceContext, demand_id: str, caller: Principal, expected_version: int) -> Document:
    async with aggregates.change(ctx.db, store.AGGREGATE, demand_id) as unit:
        doc = unit.document
        if doc is None or doc["organisation_id"] != caller.organisation_id:
            raise not_found(demand_id)
        if doc["version"] != expected_version:
            raise stale(doc["version"])
        if doc["status"] != DemandStatus.OPEN.value:
            raise ProblemError(409, "Demand closed", "This demand is already closed.", kind="demand-closed")
        await unit.write({"$set": {"status": DemandStatus.CLOSED.value, "updated_at": datetime.now(UTC)}})
    await match_store.unfile_demand(ctx.db, demand_id, demand_filing_terms(demand_facts(doc)))
    return await find(ctx, demand_id, caller)
