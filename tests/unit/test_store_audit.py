"""Which store filters the audit reports as scans on FerretDB (servicekit.store_audit), pure."""

from __future__ import annotations

from bson import ObjectId
from servicekit.store_audit import filter_shape, is_indexed_by_id, scanning_filters


def test_only_an_exact_id_filter_counts_as_indexed() -> None:
    assert is_indexed_by_id({"_id": "lst-1"})
    assert is_indexed_by_id({"_id": ObjectId()})
    assert not is_indexed_by_id({"_id": "lst-1", "version": 3})
    assert not is_indexed_by_id({"_id": {"$in": ["a", "b"]}})
    assert not is_indexed_by_id({})
    assert not is_indexed_by_id({"status": "open"})


def test_shapes_keep_fields_and_operators_but_no_values() -> None:
    assert filter_shape({"status": "open", "valid_until": {"$lte": 5}}) == {"status": "?", "valid_until": {"$lte": "?"}}
    assert filter_shape({"$or": [{"a": 1}, {"b": {"$ne": None}}]}) == {"$or": [{"a": "?"}, {"b": {"$ne": "?"}}]}
    # However many values an $in carries, the shape is the same.
    assert filter_shape({"s": {"$in": ["a", "b"]}}) == filter_shape({"s": {"$in": []}}) == {"s": {"$in": "[?]"}}


def test_every_kind_of_command_is_read_for_its_filters() -> None:
    assert scanning_filters("find", {"find": "c", "filter": {"_id": "x"}}) == []
    assert scanning_filters("find", {"find": "c"}) == [{}]
    assert scanning_filters("update", {"update": "c", "updates": [{"q": {"_id": "x"}}, {"q": {"_id": "y", "v": 1}}]}) \
        == [{"_id": "?", "v": "?"}]
    assert scanning_filters("findAndModify", {"findAndModify": "c", "query": {"_id": "x"}}) == []
    assert scanning_filters("delete", {"delete": "c", "deletes": [{"q": {"k": 1}}]}) == [{"k": "?"}]
    assert scanning_filters("count", {"count": "c", "query": {"s": 1}}) == [{"s": "?"}]
    assert scanning_filters("insert", {"insert": "c", "documents": [{}]}) == []


def test_a_pipeline_scans_unless_it_starts_with_one_id() -> None:
    assert scanning_filters("aggregate", {"pipeline": [{"$match": {"_id": "x"}}, {"$limit": 1}]}) == []
    assert scanning_filters("aggregate", {"pipeline": [{"$group": {"_id": "$s", "n": {"$sum": 1}}}]}) \
        == [{"$match": {}, "$stages": "$group"}]
    assert scanning_filters("aggregate", {"pipeline": [{"$match": {"s": 1}}]}) == [{"s": "?"}]
