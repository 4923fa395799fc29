"""Whether a document's events are all out, as the relay records it: its pending marker is gone.

The sent events themselves stay in the document's `outbox` until its next write (servicekit.outbox),
so "the outbox is empty" is no longer the sign that everything was published; the marker is.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database as SyncDatabase
from servicekit.outbox import PENDING_MARKERS, pending_marker_id


def unsent_documents(db: SyncDatabase[Any], collection: str, doc_ids: list[Any]) -> int:
    """How many of these documents still have events not acknowledged by Kafka (a pending marker)."""
    return sum(1 for i in doc_ids if db[PENDING_MARKERS].find_one({"_id": pending_marker_id(collection, i)}))


def all_sent(db: SyncDatabase[Any], collection: str, *doc_ids: Any) -> bool:
    """True once every event of these documents is acknowledged."""
    return unsent_documents(db, collection, list(doc_ids)) == 0
