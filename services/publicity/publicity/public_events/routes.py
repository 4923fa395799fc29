"""HTTP routes for public events: officers and coordinators plan them; the public reads them and
registers without an account; the registrant's unguessable link shows and cancels its registration; the
organisers list registrants, scan tickets and reconcile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from servicekit.auth import Principal, Role, require_roles
from servicekit.http import IdempotencyKeyHeader, id_after, mark_created, next_page, set_etag
from servicekit.mongo import Document
from servicekit.routing import Context, Pagination

from publicity.public_events import service, store
from publicity.public_events.domain import state_of
from publicity.public_events.models import (
    EventCreate,
    EventPage,
    EventRead,
    Reconciliation,
    RegistrationCreate,
    RegistrationPage,
    RegistrationRead,
    ScanCreate,
    ScanRead,
)
from publicity.settings import PublicitySettings

router = APIRouter(prefix="/v1/events", tags=["events"])
registrant_router = APIRouter(prefix="/v1/public/registrations", tags=["public"])

Planner = Annotated[Principal, Depends(require_roles(Role.OFFICER, Role.COORDINATOR))]
Organiser = Annotated[Principal, Depends(require_roles(Role.OFFICER, Role.COORDINATOR, Role.PARTICIPANT))]
"""Any signed-in staff or participant; whether it organises this event is checked on the event."""


def _event(doc: Document) -> EventRead:
    counts = doc.get("counts") or {}
    confirmed = int(counts.get("confirmed", 0))
    return EventRead(id=doc["_id"], title=doc["title"], description=doc.get("description", ""), venue=doc["venue"],
                     region_code=doc["region_code"], starts_at=doc["starts_at"], ends_at=doc["ends_at"],
                     capacity=doc["capacity"], confirmed_places=confirmed,
                     waitlisted_places=int(counts.get("waitlisted", 0)),
                     places_left=max(int(doc["capacity"]) - confirmed, 0), campaign_id=doc.get("campaign_id"),
                     version=doc["version"])


def _registration(ctx: Context, doc: Document) -> RegistrationRead:
    settings = ctx.settings
    assert isinstance(settings, PublicitySettings)
    checked = doc.get("checked_in") or {}
    return RegistrationRead(
        id=doc["_id"], event_id=doc["event_id"], places=doc["places"], state=doc["state"],
        waitlist_position=doc.get("waitlist_position"), ticket_code=doc["ticket_code"],
        cancel_url=f"{settings.public_base_url.rstrip('/')}/v1/public/registrations/{doc['_id']}/cancellation",
        name=doc["name"], email=doc["email"], phone=doc.get("phone"), checked_in_at=checked.get("at"),
        created_at=doc["created_at"])


@router.post("", status_code=201, response_model=EventRead)
async def plan_event(data: EventCreate, ctx: Context, caller: Planner, response: Response,
                     idempotency_key: IdempotencyKeyHeader = None) -> EventRead:
    doc, created = await service.plan(ctx, data, caller, idempotency_key)
    mark_created(response, f"/v1/events/{doc['_id']}", created)
    set_etag(response, doc["version"])
    return _event(doc)


@router.get("", response_model=EventPage)
async def list_events(ctx: Context, page: Pagination, campaign_id: str | None = None) -> EventPage:
    """Public: the event calendar (optionally one campaign's)."""
    filters = {"campaign_id": campaign_id} if campaign_id else {}
    docs = await store.page(ctx.db, filters, id_after(page.cursor), page.limit + 1)
    docs, cursor = next_page(docs, page.limit)
    return EventPage(items=[_event(d) for d in docs], next_cursor=cursor)


@router.get("/{event_id}", response_model=EventRead)
async def get_event(event_id: str, ctx: Context, response: Response) -> EventRead:
    """Public: the event and its places left; no registrant appears."""
    doc = await service.find(ctx.db, event_id)
    set_etag(response, doc["version"])
    return _event(doc)


@router.post("/{event_id}/registrations", status_code=201, response_model=RegistrationRead)
async def register(event_id: str, data: RegistrationCreate, ctx: Context, response: Response,
                   idempotency_key: IdempotencyKeyHeader = None) -> RegistrationRead:
    """Public, no account: register N places (all or nothing), confirmed or waitlisted. The answer holds
    the ticket code and the cancellation link: keep both private."""
    doc, created = await service.register(ctx, event_id, data, idempotency_key)
    mark_created(response, f"/v1/public/registrations/{doc['_id']}", created)
    return _registration(ctx, doc)


@router.get("/{event_id}/registrations", response_model=RegistrationPage)
async def list_registrations(event_id: str, ctx: Context, caller: Organiser, page: Pagination) -> RegistrationPage:
    """The event's organisers only: registrants with their contact data."""
    await service.for_organiser(ctx.db, event_id, caller)
    docs = await store.registrations_of(ctx.db, event_id, id_after(page.cursor), page.limit + 1)
    docs, cursor = next_page(docs, page.limit)
    event = await service.find(ctx.db, event_id)
    entries = event.get("registrations") or {}
    shown = [{**d, "state": state_of(d.get("state"), entries[d["_id"]]["state"])} for d in docs if d["_id"] in entries]
    return RegistrationPage(items=[_registration(ctx, d) for d in shown], next_cursor=cursor)


@router.post("/{event_id}/scans", status_code=201, response_model=ScanRead)
async def record_scan(event_id: str, data: ScanCreate, ctx: Context, caller: Organiser,
                      response: Response) -> ScanRead:
    """A gate's scan, successful or not (`outcome` says which). The same nonce again (a retry, or an
    offline scan uploaded twice) answers 200 with the first result and checks nobody in twice."""
    record, created = await service.scan(ctx, event_id, data, caller)
    response.status_code = 201 if created else 200
    return ScanRead.model_validate({**record, "id": record["_id"]})


@router.get("/{event_id}/reconciliation", response_model=Reconciliation)
async def reconcile(event_id: str, ctx: Context, caller: Organiser) -> Reconciliation:
    """The organisers' report: scans by outcome, tickets scanned on several devices, late uploads."""
    report = await service.reconciliation(ctx, event_id, caller)
    report["late_uploads"] = [{**s, "id": s["_id"]} for s in report["late_uploads"]]
    return Reconciliation.model_validate(report)


@registrant_router.get("/{registration_id}", response_model=RegistrationRead)
async def my_registration(registration_id: str, ctx: Context) -> RegistrationRead:
    """The registrant's own registration, through its unguessable link."""
    return _registration(ctx, await service.view(ctx.db, registration_id))


@registrant_router.post("/{registration_id}/cancellation", response_model=RegistrationRead)
async def cancel_registration(registration_id: str, ctx: Context) -> RegistrationRead:
    """Give up the places; the next on the waitlist is promoted at once. Cancelling twice changes nothing."""
    return _registration(ctx, await service.cancel(ctx, registration_id))
