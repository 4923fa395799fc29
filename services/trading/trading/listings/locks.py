"""The per-document write locks listing writers share with the outbox relay.

FerretDB applies an update as read-modify-replace, so the relay clearing a listing's outbox and a
listing change racing in one process could lose one of them; both must hold the same DocumentLocks.
The API's ServiceContext owns that object; the listings router registers it at start-up so the seam
functions (called with a bare database by the deals code) use it too. A process without an API (the
worker, a command) falls back to its own.
"""

from __future__ import annotations

from servicekit.mongo import DocumentLocks

_fallback = DocumentLocks()
_registered: DocumentLocks | None = None


def register(locks: DocumentLocks) -> None:
    global _registered
    _registered = locks


def listing_locks() -> DocumentLocks:
    return _registered or _fallback
