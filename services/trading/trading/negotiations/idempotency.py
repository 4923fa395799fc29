"""Idempotency-Key for action POSTs on the deal aggregates (counter-offer, accept, register, ...).

Creating POSTs use the kit's creation key (kept in the created document under a unique index). An
action changes an existing document instead, so the key is remembered in that same document, in the
same single-document update as the change: `action_keys.<digest>` = the request's fingerprint. A
retry with the same key and body finds its digest and gets the current state back, nothing applied
again; the same key with another body is refused. The digest (not the key) is the map key because
an Idempotency-Key may contain '.', which a MongoDB field name may not.
"""

from __future__ import annotations

import hashlib
from typing import Any

from servicekit.http import fingerprint, key_reused
from servicekit.mongo import Document

ACTION_KEYS = "action_keys"


def action_digest(caller: str, idempotency_key: str, action: str) -> str:
    return hashlib.sha256(f"{caller}\n{action}\n{idempotency_key}".encode()).hexdigest()[:32]


def replayed(doc: Document, digest: str | None, body: Any) -> bool:
    """True when this exact request was already applied to `doc`; raises when the key was reused."""
    if digest is None:
        return False
    seen = (doc.get(ACTION_KEYS) or {}).get(digest)
    if seen is None:
        return False
    if seen != fingerprint(body):
        raise key_reused()
    return True


def remember(digest: str | None, body: Any) -> dict[str, Any]:
    """`$set` fields recording the key with the change it made."""
    return {} if digest is None else {f"{ACTION_KEYS}.{digest}": fingerprint(body)}
