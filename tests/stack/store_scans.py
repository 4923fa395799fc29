"""The deliberate exceptions to "hot paths read and write by `_id` alone".

FerretDB 1.x answers only an exact `{_id: <value>}` filter from an index; every other filter reads
and decodes the whole collection (README, "FerretDB 1.x facts"). The journeys run with the store
audit on (tests/support/store_audit.py) and fail on any scanning filter not listed here. Each entry
says why the scan is accepted: most read a collection whose size is bounded by pending work or by a
small domain (a curriculum, a year's fairs); the rest are rare paths outside any journey's hot path (a
create that collided on a unique key, an officer's report). Issue 10 replaced
the scans that grew with the data (list pages, sweeps, counts by status) with lookup documents, pending
markers and counters kept incrementally.
"""

from __future__ import annotations

from typing import NamedTuple


class ScanKey(NamedTuple):
    service: str
    collection: str
    command: str
    shape: str  # the filter's shape as compact JSON with sorted keys: field names and operators only


REPLAY = ('rare path: a create collided on a unique key (a retried POST with its Idempotency-Key, or a '
    'duplicate); one read to answer')
MARKERS = ('pending markers: the collection holds only work not yet done (empty when idle), so reading it '
           'whole costs what is pending, not what the catalogue holds')
RELAYED = ('the outbox relay\'s ledger of sent events: one document per relay batch not yet tidied (none when '
           'idle), read whole only when a sweep finds a document this process knows nothing of (after a crash)')
FOLLOWUPS = ('the removal follow-up notes: a small collection of pending notes (empty when idle), read whole '
    'by design')
CURRICULUM = ('the prerequisite graph of the curriculum (hundreds of courses, read whole to find cycles) when '
    "a course's prerequisites change")
CAMPAIGN_PAGE = ("a campaign's page (and the gauges, every 10 s, for the open campaigns: a handful) reads "
    "publicity's projections of trading's fairs and training's sessions whole to pick those inside the campaign's "
    "dates (a few fairs and hundreds of sessions a year; the projections are fed by events, outside the "
    "aggregate seam); its own events and activities come from lookups")
SCANS = ("an event's check-in scans for the organisers' reconciliation report (an officer's report, one event's "
    "scans: thousands at most); each scan is its own document keyed by its nonce")

EXPECTED_SCANS: dict[ScanKey, str] = {
    ScanKey('publicity', 'outbox_pending', 'find', '{"collection":{"$in":"[?]"}}'): MARKERS,
    ScanKey('publicity', 'outbox_relayed', 'find', '{"collection":{"$in":"[?]"}}'): RELAYED,
    ScanKey('publicity', 'release_schedule', 'find', '{}'): MARKERS,
    ScanKey('publicity', 'feed_pending', 'find', '{}'): MARKERS,
    ScanKey('publicity', 'fairs', 'find', '{}'): CAMPAIGN_PAGE,
    ScanKey('publicity', 'sessions', 'find', '{}'): CAMPAIGN_PAGE,
    ScanKey('publicity', 'scans', 'find', '{"event_id":"?"}'): SCANS,
    ScanKey('trading', 'listing_search_pending', 'find', '{}'): MARKERS,
    ScanKey('registry', 'outbox_pending', 'find', '{"collection":{"$in":"[?]"}}'): MARKERS,
    ScanKey('registry', 'outbox_relayed', 'find', '{"collection":{"$in":"[?]"}}'): RELAYED,
    ScanKey('trading', 'outbox_pending', 'find', '{"collection":{"$in":"[?]"}}'): MARKERS,
    ScanKey('trading', 'outbox_relayed', 'find', '{"collection":{"$in":"[?]"}}'): RELAYED,
    ScanKey('training', 'outbox_pending', 'find', '{"collection":{"$in":"[?]"}}'): MARKERS,
    ScanKey('training', 'outbox_relayed', 'find', '{"collection":{"$in":"[?]"}}'): RELAYED,
    ScanKey('trading', 'negotiation_offer_deadlines', 'find', '{"due":{"$lte":"?"}}'): MARKERS,
    ScanKey('trading', 'negotiation_signings', 'find', '{}'): MARKERS,
    ScanKey('trading', 'patent_claim_queue', 'find', '{}'): MARKERS,
    ScanKey('registry', 'talents', 'find',
            '{"identity_hash":"?"}'): REPLAY,
    ScanKey('training', 'talent_follow_ups', 'find',
            '{}'): FOLLOWUPS,
    ScanKey('training', 'courses', 'find',
            '{}'): CURRICULUM,
}
