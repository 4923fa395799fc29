"""HTTP routes for transfers: thin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from servicekit.http import IdempotencyKeyHeader, expected_version, set_etag
from servicekit.mongo import Document
from servicekit.service import ServiceContext, context_of

from trading.negotiations.idempotency import action_digest
from trading.negotiations.parties import Anyone, Officer
from trading.transfers import service
from trading.transfers.models import TransferRead, TransferRegistration

router = APIRouter(prefix="/v1/transfers", tags=["transfers"])

Context = Annotated[ServiceContext, Depends(context_of)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def _read(response: Response, doc: Document) -> TransferRead:
    set_etag(response, doc["version"])
    return TransferRead(id=doc["_id"], **{k: v for k, v in doc.items() if k not in ("_id", "parties")})


@router.get("/{transfer_id}", response_model=TransferRead, responses={404: {"description": "Not a party"}})
async def get_transfer(transfer_id: str, ctx: Context, caller: Anyone, response: Response) -> TransferRead:
    return _read(response, await service.find(ctx, transfer_id, caller))


@router.post("/{transfer_id}/registration", response_model=TransferRead,
             responses={409: {"description": "The patent is pledged"}})
async def register_transfer(transfer_id: str, ctx: Context, caller: Officer, response: Response,
                            data: TransferRegistration | None = None, if_match: IfMatch = None,
                            idempotency_key: IdempotencyKeyHeader = None) -> TransferRead:
    """An IPO officer registers the assignment: it takes effect and the patent's listings get the new owner."""
    digest = action_digest(caller.subject, idempotency_key, f"register:{transfer_id}") if idempotency_key else None
    doc = await service.register_transfer(ctx, transfer_id, data or TransferRegistration(), caller,
                                          expected_version(if_match), digest)
    return _read(response, doc)
