"""The driver-monitoring log (servicekit.store_health): a failed heartbeat and a cleared pool are
warnings, the first heartbeat to succeed after failures and a pool ready again are info, and heartbeats
that keep succeeding say nothing."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from pymongo import monitoring
from servicekit.store_health import StoreHealthLog

STORE = ("127.0.0.1", 27017)


def test_the_monitor_log_says_when_the_store_failed_and_came_back(caplog: pytest.LogCaptureFixture) -> None:
    health = StoreHealthLog()
    hello = cast(Any, object())
    with caplog.at_level(logging.INFO, logger="servicekit.store_health"):
        health.succeeded(monitoring.ServerHeartbeatSucceededEvent(0.001, hello, STORE))
        assert caplog.records == [], "a heartbeat that succeeds as usual says nothing"
        health.failed(monitoring.ServerHeartbeatFailedEvent(2.0, TimeoutError("timed out"), STORE))
        health.pool_cleared(monitoring.PoolClearedEvent(STORE))
        health.succeeded(monitoring.ServerHeartbeatSucceededEvent(0.001, hello, STORE))
        health.succeeded(monitoring.ServerHeartbeatSucceededEvent(0.001, hello, STORE))
        health.pool_ready(monitoring.PoolReadyEvent(STORE))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "store heartbeat failed after 2.000s: timed out"),
        ("WARNING", "store connection pool cleared and paused until a heartbeat succeeds"),
        ("INFO", "store heartbeat succeeded again"),
        ("INFO", "store connection pool ready"),
    ]
