"""Use cases for listings: rules, store and events together, free of HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from servicekit import aggregates
from servicekit.aggregates import stored_now
from servicekit.auth import Principal, Role
from servicekit.events.envelope import CloudEvent
from servicekit.http import creation_key, fingerprint, key_reused
from servicekit.mongo import Database, Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from trading.listings import domain, search_store, store
from trading.listings.aggregate import LISTING
from trading.listings.domain import EXCLUSIVE_KINDS, OPEN_STATUSES, DealType, ListingStatus, RuleViolation
from trading.listings.events import ListingPublished, ListingWithdrawn
from trading.listings.indexer import request_filing
from trading.listings.metrics import LISTING_METRICS
from trading.listings.models import ListingCreate, ListingUpdate
from trading.organisations.projection import COLLECTION as ORGANISATIONS
from trading.organisations.projection import may_list_patents
from trading.patents import service as patents
from trading.patents import store as patent_store
from trading.patents.domain import PatentRuleError, check_declared_expiry, check_filing_date
from trading.patents.identifiers import PatentKind, display_application_number, kind_of_application

SOURCE = "/ipo/trading"
T = TypeVar("T")
STAFF = frozenset({Role.OFFICER, Role.ADMIN})


def is_staff(caller: Principal | None) -> bool:
    return caller is not None and bool(caller.roles & STAFF)


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


def new_document(data: ListingCreate, owner: str, key: str, expires_on: date) -> Document:
    now = stored_now()
    body = data.model_dump(mode="json")
    return {
        "_id": store.listing_id_for(key), **body, "expires_on": expires_on.isoformat(), "owner_organisation_id": owner,
        "status": ListingStatus.DRAFT.value, "version": 1, "created_at": now, "updated_at": now,
        "published_at": None, "creation_key": key, "creation_fingerprint": fingerprint(body),
        "search_pending": False,
    }


async def create(ctx: ServiceContext, data: ListingCreate, caller: Principal,
                 idempotency_key: str | None) -> tuple[Document, bool]:
    async def checked_owner() -> str:
        owner = await acting_organisation(ctx.db, caller)
        try:
            check_create_rules(data)
        except RuleViolation as violation:
            raise rule_problem(violation, 422) from None
        await _check_agent(ctx.db, data.agent_organisation_id)
        return owner

    key = creation_key(caller.subject, idempotency_key)
    # The caller's organisation is read while the patent's document is (insert_new awaits the checks
    # before it decides anything): one round trip fewer in a row per create, the requests' latency being
    # what the create + publish goal measures. Nothing is written before the checks have passed.
    async with alongside(checked_owner()) as owner:
        return await insert_new(ctx, data.application_number,
                                lambda patent: prepared_document(data, owner.result(), key, patent), checks=owner)


@asynccontextmanager
async def alongside(work: Awaitable[T]) -> AsyncIterator[asyncio.Future[T]]:
    """Start `work` now, beside the block's own store calls; the block awaits it where it needs it. If the
    block ends without having awaited it (it failed first), `work` is cancelled, and its own failure, if
    any, counts as seen: the block's is the one reported."""
    task = asyncio.ensure_future(work)
    try:
        yield task
    finally:
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()


def patent_problem(error: PatentRuleError, status: int = 422) -> ProblemError:
    return rule_problem(RuleViolation(error.kind, str(error), error.field), status)


def prepared_document(data: ListingCreate, owner: str, key: str, patent: Document | None) -> Document:
    """The new listing's document once the patent (its document as read under its unit of work, None
    when nobody claimed or listed it yet) allows it: the term derived from the law (422), the patent
    not verified to someone else and no exclusive offer on an open-licensed patent (409)."""
    computed = patents.latest_expiry(data.application_number, patent, data.filing_date)
    try:
        check_filing_date(data.application_number, data.filing_date, datetime.now(UTC).date())
        if data.expires_on is not None:
            check_declared_expiry(data.expires_on, computed)
    except PatentRuleError as error:
        raise patent_problem(error, 422) from None
    verified_owner = (patent or {}).get("owner_organisation_id")
    if verified_owner is not None and verified_owner != owner:
        raise ProblemError(409, "Conflict", f"Patent {display_application_number(data.application_number)} is "
                                            "registered to another owner.", kind="registered-to-another-owner")
    check_open_licence_allows(patent, data.deal_types, None)
    return new_document(data, owner, key, data.expires_on or computed)


def check_open_licence_allows(patent: Document | None, deal_types: list[DealType] | tuple[DealType, ...],
                              listing_id: str | None) -> None:
    """An open-licensed patent cannot carry an exclusive or sole licence (Patent Law art. 50): refused
    when such an offer is created, changed or published, not at signing after both sides agreed."""
    declared = (patent or {}).get("open_licence")
    if declared is None or declared.get("listing_id") == listing_id:
        return
    if set(deal_types) & EXCLUSIVE_KINDS:
        raise rule_problem(RuleViolation(
            "open-licence-excludes-exclusive",
            f"the patent carries an open licence (declared by listing {declared['listing_id']}), so it cannot be "
            "offered for an exclusive or sole licence", "deal_types"))


def one_open_listing(other: Document) -> ProblemError:
    return ProblemError(409, "Conflict", f"Patent {display_application_number(other['application_number'])} "
                                         f"already has an open listing, {other['_id']} ({other['status']}); change "
                                         "that one (several deal types live in one listing) or withdraw it first.",
                        kind="one-open-listing", open_listing_id=other["_id"],
                        open_listing=f"/v1/listings/{other['_id']}")


async def insert_new(ctx: ServiceContext, application_number: str, prepare: Callable[[Document | None], Document],
                     *, checks: Awaitable[object] | None = None) -> tuple[Document, bool]:
    """Insert a new draft for this patent, made by `prepare` from the patent's document (which checks
    the patent's rules, raising a ProblemError); on a creation-key collision return what the earlier
    request created. `checks`: the caller's own checks, running already, awaited once the patent's
    document is read and before anything is decided (their ProblemError first).

    One open listing per patent: the patent's document points at its draft, published or negotiating
    listing (`open_listing_id`, read and written by `_id` under the patent's unit of work, the listing
    inserted while it is held). A pointer at a listing that is closed, withdrawn or was never inserted
    (a crash in between) is free again, so nothing needs clearing when a listing closes. The patent's
    rules are checked on the same read, under the unit of work: one read of the patent per create
    (there were two, one before the unit for the rules), and no change of the patent between the check
    and the insert."""
    async with patent_store.changing(ctx.db, application_number) as unit:
        if checks is not None:
            await checks
        doc = prepare(unit.document)
        open_id = (unit.document or {}).get("open_listing_id")
        other = None if open_id is None else await aggregates.read(
            ctx.db, LISTING, open_id, keep=("creation_key", "creation_fingerprint"))
        if other is not None and ListingStatus(other["status"]) in OPEN_STATUSES:
            if other.get("creation_key") != doc["creation_key"]:
                raise one_open_listing(other)
            if other.get("creation_fingerprint") != doc["creation_fingerprint"]:
                raise key_reused()
            found = await store.get(ctx.db, other["_id"])
            assert found is not None
            return found, False
        # The patent points at its new listing before the listing exists (beside the kit's own writes
        # ahead of the insert).
        try:
            await store.insert(ctx.db, doc, ahead=lambda: patent_store.write(unit, {"open_listing_id": doc["_id"]}))
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
    # No marker: a draft is not searchable, the indexer only counts it (see search_store).
    request_filing(doc, created=True)
    return LISTING.visible(doc), True


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
                      decide: Decision, *, first: Callable[[Document], Awaitable[None]] | None = None) -> Document:
    """Read, check the version, let `decide(doc, now)` return (changes, events), write, reindex.
    `caller` None: the platform acting for the owner (the import publishing the rows it created).
    `first(doc)` runs before deciding, once the version matched (publish reads the patent there, so
    the listing is read once). Answers with the document as written, without reading it back."""
    def visible(doc: Document) -> bool:
        # Anyone but the owner and its agent gets 404, even for a public listing: a participant learns
        # nothing from probing someone else's listings with writes. The platform acts for the owner.
        return caller is None or domain.may_change(caller.organisation_id, doc["owner_organisation_id"],
                                                   doc.get("agent_organisation_id"))

    async with aggregates.change(ctx.db, LISTING, listing_id) as unit:
        current = unit.document
        if current is None or not visible(current):
            raise not_found(listing_id)
        if unit.check_version(expected_version):  # this request's change landed already: answer with it
            return current
        if first is not None:
            await first(current)
        try:
            changes, events = decide(current, stored_now())
        except RuleViolation as violation:
            raise rule_problem(violation) from None
        await unit.write(store.change_update(changes), events,
                         ahead=lambda: search_store.mark_pending(ctx.db, listing_id, expected_version + 1))
        # `current` carries the version the write moved it to (the unit keeps it in step).
        written = {**current, **changes}
    request_filing(written)
    return written


async def publish(ctx: ServiceContext, listing_id: str, caller: Principal | None, expected_version: int,
                  today: date | None = None) -> Document:
    """Only the patent's verified owner (or the agent it names on the listing) publishes; an exclusive
    or sole offer on an open-licensed patent is refused here. Publishing an open-licence offer
    declares the open licence on the patent (taken by notice, POST /v1/patents/{number}/open-licence)."""
    patent: Document | None = None

    async def read_patent(current: Document) -> None:
        nonlocal patent
        patent = await patent_store.get(ctx.db, current["application_number"])

    def decide(current: Document, now: datetime) -> tuple[dict[str, Any], list[CloudEvent]]:
        domain.check_publishable(ListingStatus(current["status"]), date.fromisoformat(current["expires_on"]),
                                 today or now.date())
        # After the version and state checks (412 and "not a draft" say more), before anything is written.
        owner = (patent or {}).get("owner_organisation_id")
        if owner != current["owner_organisation_id"]:
            number = display_application_number(current["application_number"])
            raise RuleViolation("ownership-not-verified" if owner is None else "registered-to-another-owner",
                                f"patent {number}'s ownership is not verified to {current['owner_organisation_id']}, "
                                "so its listing cannot be published: claim the patent (POST /v1/patents/"
                                f"{number}/claims) and wait for an IPO officer to verify the claim")
        check_open_licence_allows(patent, [DealType(d) for d in current["deal_types"]], listing_id)
        changes = {"status": ListingStatus.PUBLISHED.value, "published_at": now, "updated_at": now}
        after = {**current, **changes, "version": current["version"] + 1}
        return changes, [_published_event(after)]

    doc = await _transition(ctx, listing_id, caller, expected_version, decide, first=read_patent)
    if DealType.OPEN_LICENCE.value in doc["deal_types"]:
        await patents.declare_open_licence(ctx.db, doc["application_number"], open_licence_entry(doc), doc["_id"])
    LISTING_METRICS.published.inc()
    return doc


def open_licence_entry(doc: Document) -> Document:
    return {"listing_id": doc["_id"], "terms": doc.get("open_licence_terms") or "",
            "upfront_fee_fen": int(doc.get("open_licence_fee_fen") or 0),
            "royalty_rate_percent": str(doc.get("open_licence_royalty_rate_percent") or "0")}


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
    # Withdrawing the listing that declared an open licence withdraws the declaration (the office's
    # announcement of the withdrawal is the owner's business; licences already taken stay).
    await patents.declare_open_licence(ctx.db, doc["application_number"], None, doc["_id"])
    LISTING_METRICS.withdrawn.inc()
    return doc


async def change(ctx: ServiceContext, listing_id: str, data: ListingUpdate, caller: Principal,
                 expected_version: int) -> Document:
    changes: dict[str, Any] = data.model_dump(mode="json", exclude_unset=True)
    if "agent_organisation_id" in changes:
        await _check_agent(ctx.db, changes["agent_organisation_id"])
    listing = await store.get(ctx.db, listing_id)
    patent = None if listing is None else await patent_store.get(ctx.db, listing["application_number"])
    if listing is not None and data.deal_types is not None:
        check_open_licence_allows(patent, data.deal_types, listing_id)
    if listing is not None and data.expires_on is not None and listing.get("filing_date"):
        computed = patents.latest_expiry(listing["application_number"], patent,
                                         date.fromisoformat(listing["filing_date"]))
        try:
            check_declared_expiry(data.expires_on, computed)
        except PatentRuleError as error:
            raise patent_problem(error) from None

    def decide(current: Document, now: datetime) -> tuple[dict[str, Any], list[CloudEvent]]:
        domain.check_editable(ListingStatus(current["status"]))
        after = {**current, **changes}
        check_classification(PatentKind(after["patent_kind"]), after["ipc_codes"], after["locarno_classes"])
        domain.check_offer([DealType(d) for d in after["deal_types"]], after.get("open_licence_terms"))
        return {**changes, "updated_at": now}, []

    return await _transition(ctx, listing_id, caller, expected_version, decide)
