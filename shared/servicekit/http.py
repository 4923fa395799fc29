"""HTTP conventions shared by every service: ETags for optimistic concurrency, Idempotency-Key for
POSTs, and cursor pagination.

Optimistic concurrency: every aggregate has an integer `version`; responses carry `ETag: "<version>"`
and updates must send `If-Match` with it (428 when missing, 412 when stale).

Idempotency: a POST may carry `Idempotency-Key`. The key (scoped to the caller) is stored in the
created document itself, under a unique index, together with a fingerprint of the request; a retry
with the same key and body returns the same resource instead of creating a second one, and the same
key with a different body is refused. Keeping it in the document makes "create" and "remember the
key" one atomic insert. (FerretDB has no partial indexes, so requests without a key get a unique
generated one rather than a missing field.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import Header, Response

from servicekit.problems import ProblemError

MAX_PAGE_SIZE = 100


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def expected_version(if_match: str | None) -> int:
    if if_match is None:
        raise ProblemError(428, "Precondition required",
                           "Send If-Match with the ETag you last read, so concurrent edits are not lost.",
                           kind="precondition-required")
    value = if_match.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()):
        raise ProblemError(400, "Bad If-Match", f"If-Match must be an ETag like \"3\", got {if_match!r}.",
                           kind="bad-if-match", errors=[{"header": "If-Match", "detail": "not an ETag"}])
    return int(value)


def stale(current: int) -> ProblemError:
    return ProblemError(412, "Precondition failed",
                        f"The resource changed since you read it; its ETag is now {etag(current)}.",
                        kind="precondition-failed", current_etag=etag(current))


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$",
           description="Makes a retried POST create nothing twice"),
]


# The creation key of a POST sent without an Idempotency-Key: random, so no retry can ever name it again.
# (Callers are Keycloak user ids, service names and `event:<id>`, never "auto", so a caller's key never
# starts so.)
GENERATED_KEY_PREFIX = "auto:"


def creation_key(caller: str, idempotency_key: str | None) -> str:
    return f"{caller}:{idempotency_key}" if idempotency_key else generated_creation_key()


def generated_creation_key() -> str:
    """The unique creation key of a document no caller named (the unique index on the key needs one)."""
    return f"{GENERATED_KEY_PREFIX}{uuid.uuid4()}"


def replayable(key: str) -> bool:
    """Whether a retry can carry this creation key again (the caller chose it), so the kit records which
    document it made (servicekit.aggregates); a generated one is never looked up."""
    return not key.startswith(GENERATED_KEY_PREFIX)


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def key_reused() -> ProblemError:
    return ProblemError(422, "Idempotency key reused",
                        "This Idempotency-Key was already used with a different request body.",
                        kind="idempotency-key-reused", errors=[{"header": "Idempotency-Key",
                                                                "detail": "reused with another body"}])


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProblemError(400, "Bad cursor", "The cursor is not one this service issued.", kind="bad-cursor",
                           errors=[{"query": "cursor", "detail": "undecodable"}]) from exc
    if not isinstance(values, list):
        raise ProblemError(400, "Bad cursor", "The cursor is not one this service issued.", kind="bad-cursor",
                           errors=[{"query": "cursor", "detail": "wrong shape"}])
    return values


def mark_created(response: Response, location: str, created: bool) -> None:
    """Answer a create: 201 with its Location, or 200 (same Location) when an Idempotency-Key retry
    found what the first request created."""
    response.status_code = 201 if created else 200
    response.headers["Location"] = location


def id_after(cursor: str | None) -> str | None:
    """Where a page ordered by `_id` starts: the last `_id` of the previous page, from a cursor that
    `next_page` issued (400 problem+json for anything else)."""
    if cursor is None:
        return None
    position = decode_cursor(cursor)
    if len(position) != 1 or not isinstance(position[0], str):
        raise ProblemError(400, "Bad cursor", "The cursor is not one this service issued.", kind="bad-cursor",
                           errors=[{"query": "cursor", "detail": "wrong shape"}])
    return position[0]


def next_page(docs: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """A page read with `limit + 1` documents ordered by `_id`: the page, and the cursor to the next
    page (None on the last one)."""
    page = docs[:limit]
    more = len(docs) > limit
    return page, encode_cursor([page[-1]["_id"]]) if more and page else None
