"""Use cases for listings: rules, store and events together, free of HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal, Role
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint, key_reused
from servicekit.mongo import Database, Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from trading.listings import domain, search_store, store
from trading.listings.aggregate import LISTING
from trading.listings.domain import DealType, ListingStatus, RuleViolation
from trading.listings.events import ListingPublished, ListingWithdrawn
from trading.listings.indexer import request_indexing
from trading.listings.metrics import LISTING_METRICS
from trading.listings.models import ListingCreate, ListingUpdate
from trading.organisations.projection import COLLECTION as ORGANISATIONS
from trading.organisations.projection import may_list_patents
from trading.patents.identifiers import PatentKind, kind_of_application

SOURCE = "/ipo/trading"
STAFF = frozenset({Role.OFFICER, Role.ADMIN})


def is_staff(caller: Principal | None) -> bool:
    return caller is not None and bool(caller.roles & STAFF)


def new_listing_id() -> str:
    return f"lst-{uuid.uuid4().hex[:20]}"


def rule_problem(violation: RuleViolation, status: int = 409) -> ProblemError:
    errors = [{"pointer": f"#/{violation.field}", "detail": str(violation)}] if violation.field else []
    return ProblemError(status, "Listing rule violated", str(violation), kind=violation.kind, errors=errors)


def not_found(listing_id: str) -> ProblemError:
    return ProblemError(404, "Not found", f"No listing {listing_id} that you may see.", kind="not-found")


async def acting_organisation(db: Database, caller: Principal, pointer: str = "org") -> str:
    """The caller's organisation (the token's `org` claim), which must be active in trading."""
    if not caller.organisation_id:
        raise ProblemError(403, "No organisation", "This needs a token naming your organisation (`org` claim).",
                           kind="no-organisation")
    organisation = await db[ORGANISATIONS].find_one({"_id": caller.organisation_id})
    if not may_list_patents(organisation):
        raise ProblemError(403, "Organisation may not trade",
                           f"Organisation {caller.organisation_id} is not registered and active in the registry "
                           "(as trading knows it), so it cannot list or post here.",
                           kind="organisation-not-active", errors=[{"token": pointer, "detail": "not active"}])
    return caller.organisation_id


async def _check_agent(db: Database, agent: str | None) -> None:
    if agent is None:
        return
    if not may_list_patents(await db[ORGANISATIONS].find_one({"_id": agent})):
        raise ProblemError(422, "Unknown agent organisation",
                           f"Agent organisation {agent} is not registered and active.", kind="agent-not-active",
                           errors=[{"pointer": "#/agent_organisation_id", "detail": "not an active organisation"}])


def check_create_rules(data: ListingCreate) -> None:
    """Rules across fields of a new listing; raises RuleViolation."""
    domain.check_kind_matches_number(data.patent_kind, kind_of_application(data.application_number))
    check_classification(data.patent_kind, data.ipc_codes, data.locarno_classes)
    domain.check_offer(data.deal_types, data.open_licence_terms)


def check_classification(kind: PatentKind, ipc: list[str], locarno: list[str]) -> None:
    if kind == PatentKind.DESIGN and not locarno:
        raise RuleViolation("classification-missing", "a design needs at least one Locarno class",
                            "locarno_classes")
    if kind != PatentKind.DESIGN and not ipc:
        which = "an invention" if kind == PatentKind.INVENTION else "a utility model"
        raise RuleViolation("classification-missing", f"{which} needs at least one IPC code", "ipc_codes")


def new_document(data: ListingCreate, owner: str, key: str) -> Document:
    now = datetime.now(UTC)
    body = data.model_dump(mode="json")
    return {
        "_id": new_listing_id(), **body, "owner_organisation_id": owner,
        "status": ListingStatus.DRAFT.value, "version": 1, "created_at": now, "updated_at": now,
        "published_at": None, "creation_key": key, "creation_fingerprint": fingerprint(body),
        "search_pending": False,
    }


async def create(ctx: ServiceContext, data: ListingCreate, caller: Principal,
                 idempotency_key: str | None) -> tuple[Document, bool]:
    owner = await acting_organisation(ctx.db, caller)
    try:
        check_create_rules(data)
    except RuleViolation as violation:
        raise rule_problem(violation, 422) from None
    await _check_agent(ctx.db, data.agent_organisation_id)
    doc = new_document(data, owner, creation_key(caller.subject, idempotency_key))
    return await insert_new(ctx, doc)


async def insert_new(ctx: ServiceContext, doc: Document) -> tuple[Document, bool]:
    """Insert a new draft; on a creation-key collision return what the earlier request created."""
    # Marked before the insert, so the indexer counts the new draft even if the process dies right after.
    await search_store.mark_pending(ctx.db, doc["_id"], 1)
    try:
        await store.insert(ctx.db, doc)
    except aggregates.DuplicateCreation as dup:
        earlier = dup.earlier
        if earlier is None:
            raise
        if earlier.get("creation_fingerprint") != doc["creation_fingerprint"]:
            raise key_reused() from None
        found = await store.get(ctx.db, earlier["_id"])
        assert found is not None
        return found, False
    LISTING_METRICS.created.inc()
    request_indexing()  # counted as a draft
    created = await store.get(ctx.db, doc["_id"])
    assert created is not None
    return created, True


async def find(ctx: ServiceContext, listing_id: str, caller: Principal | None) -> Document:
    doc = await store.get(ctx.db, listing_id)
    org = caller.organisation_id if caller else None
    if doc is None or not domain.may_read(org, ListingStatus(doc["status"]), doc["owner_organisation_id"],
                                          doc.get("agent_organisation_id"),
                                          doc.get("co_owner_organisation_ids") or [], is_staff(caller)):
        raise not_found(listing_id)
    return doc


def _published_event(doc: Document) -> CloudEvent:
    payload = ListingPublished(
        listing_id=doc["_id"], application_number=doc["application_number"], patent_kind=doc["patent_kind"],
        title=doc["title"], owner_organisation_id=doc["owner_organisation_id"],
        agent_organisation_id=doc.get("agent_organisation_id"), ipc_codes=doc["ipc_codes"],
        industry=doc["industry"], region_code=doc["region_code"], deal_types=doc["deal_types"],
        price_fen=doc.get("price_fen"), version=doc["version"], occurred_at=doc["updated_at"],
    )
    return CloudEvent.new(SOURCE, doc["_id"], payload)


Decision = Callable[[Document, datetime], tuple[dict[str, Any], list[CloudEvent]]]


async def _transition(ctx: ServiceContext, listing_id: str, caller: Principal | None, expected_version: int,
                      decide: Decision) -> Document:
    """Read, check the version, let `decide(doc, now)` return (changes, events), write, reindex.
    `caller` None: the platform acting for the owner (the import publishing the rows it created)."""
    def visible(doc: Document) -> bool:
        # Anyone but the owner and its agent gets 404, even for a public listing: a participant learns
        # nothing from probing someone else's listings with writes. The platform acts for the owner.
        return caller is None or domain.may_change(caller.organisation_id, doc["owner_organisation_id"],
                                                   doc.get("agent_organisation_id"))

    def decision(current: Document) -> aggregates.Decision:
        try:
            changes, events = decide(current, datetime.now(UTC))
        except RuleViolation as violation:
            raise rule_problem(violation) from None
        return store.change_update(changes), events

    async with aggregates.change(ctx.db, LISTING, listing_id) as unit:
        current = unit.document
        if current is None or not visible(current):
            raise not_found(listing_id)
        if not unit.check_version(expected_version):  # True: this request's change landed already
            update, events = decision(current)
            await search_store.mark_pending(ctx.db, listing_id, expected_version + 1)
            await unit.write(update, events)
    request_indexing()
    doc = await store.get(ctx.db, listing_id)
    assert doc is not None
    return doc


async def publish(ctx: ServiceContext, listing_id: str, caller: Principal | None, expected_version: int,
                  today: date | None = None) -> Document:
    def decide(current: Document, now: datetime) -> tuple[dict[str, Any], list[CloudEvent]]:
        domain.check_publishable(ListingStatus(current["status"]), date.fromisoformat(current["expires_on"]),
                                 today or now.date())
        changes = {"status": ListingStatus.PUBLISHED.value, "published_at": now, "updated_at": now}
        after = {**current, **changes, "version": current["version"] + 1}
        return changes, [_published_event(after)]

    doc = await _transition(ctx, listing_id, caller, expected_version, decide)
    LISTING_METRICS.published.inc()
    return doc


async def withdraw(ctx: ServiceContext, listing_id: str, caller: Principal, expected_version: int) -> Document:
    def decide(current: Document, now: datetime) -> tuple[dict[str, Any], list[CloudEvent]]:
        status = ListingStatus(current["status"])
        domain.check_withdrawable(status)
        changes = {"status": ListingStatus.WITHDRAWN.value, "updated_at": now}
        event = ListingWithdrawn(listing_id=current["_id"], application_number=current["application_number"],
                                 owner_organisation_id=current["owner_organisation_id"],
                                 was_published=status == ListingStatus.PUBLISHED,
                                 version=current["version"] + 1, occurred_at=now)
        return changes, [CloudEvent.new(SOURCE, current["_id"], event)]

    doc = await _transition(ctx, listing_id, caller, expected_version, decide)
    LISTING_METRICS.withdrawn.inc()
    return doc


async def change(ctx: ServiceContext, listing_id: str, data: ListingUpdate, caller: Principal,
                 expected_version: int) -> Document:
    changes: dict[str, Any] = data.model_dump(mode="json", exclude_unset=True)
    if "agent_organisation_id" in changes:
        await _check_agent(ctx.db, changes["agent_organisation_id"])

    def decide(current: Document, now: datetime) -> tuple[dict[str, Any], list[CloudEvent]]:
        domain.check_editable(ListingStatus(current["status"]))
        after = {**current, **changes}
        check_classification(PatentKind(after["patent_kind"]), after["ipc_codes"], after["locarno_classes"])
        domain.check_offer([DealType(d) for d in after["deal_types"]], after.get("open_licence_terms"))
        return {**changes, "updated_at": now}, []

    return await _transition(ctx, listing_id, caller, expected_version, decide)
