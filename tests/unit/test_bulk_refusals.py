"""servicekit.mongo.only_duplicates: which refused bulk writes a caller may take for "already there"."""

from __future__ import annotations

from typing import Any

from pymongo.errors import BulkWriteError
from servicekit.mongo import only_duplicates


def refused(*codes: int, concern_errors: list[dict[str, Any]] | None = None) -> BulkWriteError:
    return BulkWriteError({"writeErrors": [{"index": i, "code": c, "errmsg": "x"} for i, c in enumerate(codes)],
                           "writeConcernErrors": concern_errors or [], "nInserted": 0})


def test_only_duplicate_keys_are_duplicates() -> None:
    assert only_duplicates(refused(11000))
    assert only_duplicates(refused(11000, 11000))


def test_any_other_refusal_or_a_write_concern_error_is_not() -> None:
    assert not only_duplicates(refused(11000, 121)), "a document failing validation beside a duplicate"
    assert not only_duplicates(refused(2))
    assert not only_duplicates(refused(11000, concern_errors=[{"code": 64, "errmsg": "waiting for replication"}]))
    assert not only_duplicates(refused()), "no statement refused: something else went wrong"
