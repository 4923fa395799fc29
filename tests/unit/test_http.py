"""HTTP conventions: ETags and If-Match, idempotency fingerprints and keys, cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from servicekit.http import (
    creation_key,
    decode_cursor,
    encode_cursor,
    etag,
    expected_version,
    fingerprint,
    generated_creation_key,
    id_after,
    key_reused,
    next_page,
    replayable,
    stale,
)
from servicekit.problems import ProblemError


def test_etag_is_the_quoted_version() -> None:
    assert etag(1) == '"1"'
    assert etag(42) == '"42"'


@pytest.mark.parametrize(("header", "version"), [('"3"', 3), ("3", 3), ('W/"4"', 4), (' "12" ', 12)])
def test_if_match_gives_the_expected_version(header: str, version: int) -> None:
    assert expected_version(header) == version


def test_if_match_round_trips_an_etag() -> None:
    assert expected_version(etag(7)) == 7


def test_missing_if_match_is_428() -> None:
    with pytest.raises(ProblemError) as caught:
        expected_version(None)
    assert caught.value.status == 428
    assert caught.value.kind == "precondition-required"
    assert "If-Match" in caught.value.detail


@pytest.mark.parametrize("header", ["abc", '"abc"', '"-1"', '"1.5"', "", '"', "*"])
def test_malformed_if_match_is_400(header: str) -> None:
    with pytest.raises(ProblemError) as caught:
        expected_version(header)
    assert caught.value.status == 400
    assert caught.value.kind == "bad-if-match"
    assert caught.value.errors == [{"header": "If-Match", "detail": "not an ETag"}]


def test_stale_is_412_and_names_the_current_etag() -> None:
    problem = stale(5)
    assert problem.status == 412
    assert problem.kind == "precondition-failed"
    assert problem.extensions == {"current_etag": '"5"'}


@pytest.mark.parametrize(
    "values",
    [["91210100MA0QTEXT09"], ["abc", 3, None, True], [], ["with space/and+plus?", 1.5], ["中文", {"k": [1]}]],
)
def test_cursor_round_trip(values: list[object]) -> None:
    cursor = encode_cursor(values)
    assert "=" not in cursor
    assert all(c.isalnum() or c in "-_" for c in cursor)
    assert decode_cursor(cursor) == values


def test_cursor_of_a_datetime_is_its_string() -> None:
    at = datetime(2027, 4, 26, tzinfo=UTC)
    assert decode_cursor(encode_cursor([at])) == [str(at)]


def _bad(cursor: str) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        decode_cursor(cursor)
    assert caught.value.status == 400
    assert caught.value.kind == "bad-cursor"
    return caught.value


@pytest.mark.parametrize("cursor", ["!!!", "a", "not-a-cursor", "", base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode()])
def test_undecodable_cursor_is_400(cursor: str) -> None:
    assert _bad(cursor).errors == [{"query": "cursor", "detail": "undecodable"}]


@pytest.mark.parametrize("payload", [{"a": 1}, "text", 3, None])
def test_cursor_of_the_wrong_shape_is_400(payload: object) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    assert _bad(cursor).errors == [{"query": "cursor", "detail": "wrong shape"}]


def test_fingerprint_ignores_key_order() -> None:
    a = {"name": "Acme", "kind": "enterprise", "address": {"city": "Dalian", "street": "1 Harbour Rd"}}
    b = {"address": {"street": "1 Harbour Rd", "city": "Dalian"}, "kind": "enterprise", "name": "Acme"}
    assert fingerprint(a) == fingerprint(b)
    assert len(fingerprint(a)) == 64


def test_fingerprint_sees_every_difference() -> None:
    base = {"name": "Acme", "tags": ["a", "b"]}
    assert fingerprint(base) != fingerprint({**base, "name": "Acme Ltd"})
    assert fingerprint(base) != fingerprint({**base, "tags": ["b", "a"]})  # list order is meaningful
    assert fingerprint(base) != fingerprint({**base, "extra": None})


def test_fingerprint_is_stable_across_calls() -> None:
    body = {"at": datetime(2027, 4, 26, tzinfo=UTC), "n": 1}
    assert fingerprint(body) == fingerprint(dict(reversed(list(body.items()))))


def test_creation_key_is_scoped_to_the_caller() -> None:
    assert creation_key("user-1", "key-12345") == "user-1:key-12345"
    assert creation_key("user-1", "key-12345") != creation_key("user-2", "key-12345")


def test_without_idempotency_key_every_creation_key_is_unique() -> None:
    first, second = creation_key("user-1", None), creation_key("user-1", None)
    assert first.startswith("auto:")
    assert first != second
    # Never named again by a retry, so the kit claims nothing for it; a caller's key is claimed.
    assert not replayable(first) and not replayable(generated_creation_key())
    assert replayable(creation_key("user-1", "key-12345"))


def test_key_reused_is_422() -> None:
    problem = key_reused()
    assert problem.status == 422
    assert problem.kind == "idempotency-key-reused"


def test_pages_by_id_follow_each_other() -> None:
    docs = [{"_id": f"id-{i}"} for i in range(5)]
    first, cursor = next_page(docs[:3], 2)  # read with limit + 1
    assert [d["_id"] for d in first] == ["id-0", "id-1"]
    assert id_after(cursor) == "id-1"
    last, none = next_page(docs[2:4], 2)
    assert [d["_id"] for d in last] == ["id-2", "id-3"]
    assert none is None
    assert next_page([], 2) == ([], None)
    assert id_after(None) is None


@pytest.mark.parametrize("values", [[1], ["a", "b"], []])
def test_an_id_cursor_of_another_shape_is_refused(values: list[object]) -> None:
    with pytest.raises(ProblemError) as caught:
        id_after(encode_cursor(values))
    assert caught.value.status == 400
    assert caught.value.kind == "bad-cursor"
