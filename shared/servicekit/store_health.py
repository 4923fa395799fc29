"""What the MongoDB driver's own monitoring sees of the store, in the service's log.

Why: after the store stalls, PyMongo clears its connection pool and *pauses* it, and only its server
monitor marks the pool ready again, after a heartbeat succeeds. Requests in between fail fast with
"connection pool paused" (answered 503). In the paused-store stack test the pool once stayed paused for
90 s while the store answered other clients at once; without these lines nothing tells a monitor that
stopped from a store that did not answer. Logged: a failed heartbeat and a cleared pool (warnings), a
pool ready again and the first heartbeat that succeeds after failures (info). Not every heartbeat: they
come every few seconds.
"""

from __future__ import annotations

import logging

from pymongo import monitoring

log = logging.getLogger(__name__)


class StoreHealthLog(monitoring.ServerHeartbeatListener, monitoring.ConnectionPoolListener):
    def __init__(self) -> None:
        self._failing = False

    # --- heartbeats ---------------------------------------------------------------------------------

    def started(self, event: monitoring.ServerHeartbeatStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.ServerHeartbeatSucceededEvent) -> None:
        if self._failing:
            self._failing = False
            log.info("store heartbeat succeeded again", extra={"store": f"{event.connection_id}"})

    def failed(self, event: monitoring.ServerHeartbeatFailedEvent) -> None:
        self._failing = True
        log.warning("store heartbeat failed after %.3fs: %s", event.duration, event.reply,
                    extra={"store": f"{event.connection_id}"})

    # --- the connection pool ------------------------------------------------------------------------

    def pool_created(self, event: monitoring.PoolCreatedEvent) -> None:
        pass

    def pool_ready(self, event: monitoring.PoolReadyEvent) -> None:
        log.info("store connection pool ready", extra={"store": f"{event.address}"})

    def pool_cleared(self, event: monitoring.PoolClearedEvent) -> None:
        log.warning("store connection pool cleared and paused until a heartbeat succeeds",
                    extra={"store": f"{event.address}"})

    def pool_closed(self, event: monitoring.PoolClosedEvent) -> None:
        pass

    def connection_created(self, event: monitoring.ConnectionCreatedEvent) -> None:
        pass

    def connection_ready(self, event: monitoring.ConnectionReadyEvent) -> None:
        pass

    def connection_closed(self, event: monitoring.ConnectionClosedEvent) -> None:
        pass

    def connection_check_out_started(self, event: monitoring.ConnectionCheckOutStartedEvent) -> None:
        pass

    def connection_check_out_failed(self, event: monitoring.ConnectionCheckOutFailedEvent) -> None:
        pass

    def connection_checked_out(self, event: monitoring.ConnectionCheckedOutEvent) -> None:
        pass

    def connection_checked_in(self, event: monitoring.ConnectionCheckedInEvent) -> None:
        pass
