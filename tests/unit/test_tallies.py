"""The pure parts of servicekit.tallies and servicekit.updates: the state an update leaves, and the difference of
contributions."""

from __future__ import annotations

import pytest
from servicekit import tallies
from servicekit.updates import updated


def test_updated_follows_the_operators_the_aggregates_use() -> None:
    before = {"_id": "a", "status": "draft", "offers": [1], "n": {"x": 1}, "gone": 1}
    after = updated(before, {"$set": {"status": "published", "deep.er": 2}, "$inc": {"n.x": 2, "n.y": 1},
                                     "$push": {"offers": {"$each": [2, 3]}}, "$unset": {"gone": ""},
                                     "$setOnInsert": {"created": True}})
    assert after == {"_id": "a", "status": "published", "offers": [1, 2, 3], "n": {"x": 3, "y": 1},
                     "deep": {"er": 2}}
    assert before["status"] == "draft"  # the document read is left as it was
    assert updated({"_id": "b"}, {"$setOnInsert": {"k": 1}}, inserting=True) == {"_id": "b", "k": 1}


def test_an_operator_not_computed_in_memory_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\$pull"):
        updated({"_id": "a"}, {"$pull": {"offers": 1}})


def test_difference_moves_only_what_changed() -> None:
    before = {"t": {"by.draft": 1, "sum.draft": 10}, "u": {"n": 1}}
    after = {"t": {"by.published": 1, "sum.published": 10}, "u": {"n": 1}}
    assert tallies.difference(before, after) == {
        "t": {"by.draft": -1, "sum.draft": -10, "by.published": 1, "sum.published": 10}}
    assert tallies.difference(after, after) == {}


def test_a_key_that_would_split_a_path_is_refused() -> None:
    assert tallies.key("2027-03-01") == "2027-03-01"
    for bad in ("a.b", "$set", ""):
        with pytest.raises(ValueError, match="cannot be a tally key"):
            tallies.key(bad)


def test_amounts_reads_nested_tallies_without_zeros() -> None:
    tally = {"by_status": {"draft": 2, "published": 0}, "total": 5}
    assert tallies.amounts(tally, "by_status") == {"draft": 2}
    assert tallies.amount(tally, "total") == 5 and tallies.amount(tally, "missing.path") == 0
