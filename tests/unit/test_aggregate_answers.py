"""A create's answer built from what the insert wrote (servicekit.aggregates) says what a later read says:
its bookkeeping is left out as a read's projection leaves it out, and its times carry the store's
millisecond precision."""

from __future__ import annotations

from datetime import UTC, datetime

import bson
from servicekit.aggregates import Aggregate, stored_now

THINGS = Aggregate("things", internal_fields=("secret",))


def test_visible_leaves_out_what_a_read_leaves_out() -> None:
    written = {"_id": "t-1", "name": "kept", "version": 1, "secret": "s", "outbox": {"e": {}},
               "creation_key": "k", "creation_fingerprint": "f", "last_change": {}, "tallied": {}}
    assert THINGS.visible(written) == {"_id": "t-1", "name": "kept", "version": 1}
    assert set(written) - set(THINGS.visible(written)) == set(THINGS.hidden())


def test_stored_now_survives_a_round_trip_through_bson_unchanged() -> None:
    now = stored_now()
    assert now.tzinfo is UTC and now.microsecond % 1000 == 0
    options: bson.CodecOptions[dict[str, datetime]] = bson.CodecOptions(tz_aware=True)
    assert bson.decode(bson.encode({"at": now}), codec_options=options)["at"] == now
    # Whereas a plain now generally loses its microseconds on the way.
    plain = datetime(2026, 12, 2, 7, 0, 0, 123456, tzinfo=UTC)
    assert bson.decode(bson.encode({"at": plain}), codec_options=options)["at"] != plain
