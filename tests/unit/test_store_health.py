"""The driver-monitoring log (servicekit.store_health): a failed heartbeat and the server becoming
unknown are warnings, the first heartbeat to succeed after failures and the server known again are
info, and heartbeats that keep succeeding say nothing."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from pymongo import monitoring
from pymongo.hello import Hello
from pymongo.server_description import ServerDescription
from servicekit.store_health import StoreHealthLog

STORE = ("127.0.0.1", 27017)
TOPOLOGY = cast(Any, object())


def test_the_monitor_log_says_when_the_store_failed_and_came_back(caplog: pytest.LogCaptureFixture) -> None:
    health = StoreHealthLog()
    hello = cast(Any, object())
    known = ServerDescription(STORE, Hello({"ok": 1, "maxWireVersion": 21}))
    unknown = ServerDescription(STORE, error=TimeoutError("timed out"))
    with caplog.at_level(logging.INFO, logger="servicekit.store_health"):
        health.succeeded(monitoring.ServerHeartbeatSucceededEvent(0.001, hello, STORE))
        health.description_changed(monitoring.ServerDescriptionChangedEvent(known, known, STORE, TOPOLOGY))
        assert caplog.records == [], "a heartbeat that succeeds as usual says nothing"
        health.failed(monitoring.ServerHeartbeatFailedEvent(2.0, TimeoutError("timed out"), STORE))
        health.description_changed(monitoring.ServerDescriptionChangedEvent(known, unknown, STORE, TOPOLOGY))
        health.succeeded(monitoring.ServerHeartbeatSucceededEvent(0.001, hello, STORE))
        health.succeeded(monitoring.ServerHeartbeatSucceededEvent(0.001, hello, STORE))
        health.description_changed(monitoring.ServerDescriptionChangedEvent(unknown, known, STORE, TOPOLOGY))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "store heartbeat failed after 2.000s: timed out"),
        ("WARNING", "store server unknown (was Standalone): timed out"),
        ("INFO", "store heartbeat succeeded again"),
        ("INFO", "store server known as Standalone (was Unknown)"),
    ]
