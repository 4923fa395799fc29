"""What the MongoDB driver's own monitoring sees of the store, in the service's log.

Why: after the store stalls, PyMongo clears its connection pool and *pauses* it, and only its server
monitor marks the pool ready again, after a heartbeat succeeds. Requests in between fail fast with
"connection pool paused" (answered 503). In the paused-store stack test the pool once stayed paused for
90 s while the store answered other clients at once; without these lines nothing tells a monitor that
stopped from a store that did not answer. Logged: a failed heartbeat and the server becoming unknown
(warnings), the first heartbeat that succeeds after failures and the server known again (info). Not
every heartbeat: they come every few seconds. Pool events are left out on purpose: listening to them
makes the driver publish an event at every connection check-out and check-in.
"""

from __future__ import annotations

import logging

from pymongo import monitoring

log = logging.getLogger(__name__)


class StoreHealthLog(monitoring.ServerHeartbeatListener, monitoring.ServerListener):
    def __init__(self) -> None:
        self._failing = False

    # --- heartbeats (ServerHeartbeatListener) -------------------------------------------------------

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

    # --- the server's description (ServerListener) --------------------------------------------------

    def opened(self, event: monitoring.ServerOpeningEvent) -> None:
        pass

    def description_changed(self, event: monitoring.ServerDescriptionChangedEvent) -> None:
        before = event.previous_description.server_type_name
        after = event.new_description.server_type_name
        if before == after:
            return
        if after == "Unknown":
            # The driver clears and pauses the connection pool with it.
            log.warning("store server unknown (was %s): %s", before, event.new_description.error,
                        extra={"store": f"{event.server_address}"})
        else:
            log.info("store server known as %s (was %s)", after, before, extra={"store": f"{event.server_address}"})

    def closed(self, event: monitoring.ServerClosedEvent) -> None:
        pass
