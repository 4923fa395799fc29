"""The deliberate exceptions to "hot paths read and write by `_id` alone".

FerretDB 1.x answers only an exact `{_id: <value>}` filter from an index; every other filter reads
and decodes the whole collection (README, "FerretDB 1.x facts"). The journeys run with the store
audit on (tests/support/store_audit.py) and fail on any scanning filter not listed here. Each entry
says why the scan is accepted *for now*; the ones marked "issue 10" are what the scale issue replaces
with pending markers and counters kept incrementally.
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
LIST = ("a filtered list page; MongoDB serves it from the store's declared index, FerretDB scans (issue "
    '10: per-owner index documents)')
DEALS = ('issue 10: the deal gauges (every 30 s) are recounted from the deals by scanning; counters kept with '
    'each change will replace it')
FAIR = ("issue 10: a fair's statistics are computed at read time from the deals carrying its id (they "
    'cannot drift); counters kept with each deal will replace it')
MARKERS = ('pending markers: the collection holds only work not yet done (empty when idle), so reading it '
           'whole costs what is pending, not what the catalogue holds')
TALLY = ('issue 10: the registry recounts talents for the plan targets and pools (every 15 s, after a '
    'change, on a stale read); thousands of talents, not millions; counters will replace it')
GAUGES = ('issue 10: training recomputes its gauges from every session every 5 s; counters kept with each '
    'change will replace it')
FOLLOWUPS = ('the removal follow-up notes: a small collection of pending notes (empty when idle), read whole '
    'by design')
TALENT_SESSIONS = ("a talent's sessions (its enrolments live in the session documents); issue 10: a per-talent "
    'index document')
CURRICULUM = ('the prerequisite graph of the curriculum (hundreds of courses, read whole to find cycles) when '
    "a course's prerequisites change")
ACCOUNT = ("a login's own talent record (/talents/me, and that a login is bound once); issue 10: an account"
    ' -> talent document by _id')
OPEN_EVAL = ('one open evaluation per talent, level and category, checked when applying (rare); issue 10: a '
    'marker document by _id')
OPEN_ON_LISTING = ('whether other negotiations on the listing are still open before it goes back to the search; '
    'issue 10: a count kept on the listing')
DEMANDS = ('the matchmaker (worker) scores every open demand against a published listing; issue 10: demand '
    'postings in the search read model')
ROYALTY = "a licence's royalty reports (a handful per licence); issue 10: kept on the licence document"

EXPECTED_SCANS: dict[ScanKey, str] = {
    ScanKey('trading', 'listing_search_pending', 'find', '{}'): MARKERS,
    ScanKey('registry', 'outbox_pending', 'find', '{"collection":{"$in":"[?]"}}'): MARKERS,
    ScanKey('trading', 'outbox_pending', 'find', '{"collection":{"$in":"[?]"}}'): MARKERS,
    ScanKey('training', 'outbox_pending', 'find', '{"collection":{"$in":"[?]"}}'): MARKERS,
    ScanKey('trading', 'negotiation_offer_deadlines', 'find', '{"due":{"$lte":"?"}}'): MARKERS,
    ScanKey('trading', 'negotiation_signings', 'find', '{}'): MARKERS,
    ScanKey('trading', 'patent_claim_queue', 'find', '{}'): MARKERS,
    ScanKey('registry', 'evaluations', 'find',
            '{"creation_key":"?"}'): REPLAY,
    ScanKey('registry', 'organisations', 'find',
            '{"creation_key":"?"}'): REPLAY,
    ScanKey('registry', 'talents', 'find',
            '{"creation_key":"?"}'): REPLAY,
    ScanKey('registry', 'talents', 'find',
            '{"identity_hash":"?"}'): REPLAY,
    ScanKey('trading', 'fairs', 'find',
            '{"creation_key":"?"}'): REPLAY,
    ScanKey('trading', 'listings', 'find',
            '{"creation_key":"?"}'): REPLAY,
    ScanKey('trading', 'negotiations', 'find',
            '{"creation_key":"?"}'): REPLAY,
    ScanKey('trading', 'pledges', 'find',
            '{"creation_key":"?"}'): REPLAY,
    ScanKey('training', 'courses', 'find',
            '{"creation_key":"?"}'): REPLAY,
    ScanKey('training', 'sessions', 'find',
            '{"creation_key":"?"}'): REPLAY,
    ScanKey('registry', 'evaluations', 'find',
            '{"talent_id":"?"}'): LIST,
    ScanKey('registry', 'organisations', 'find',
            '{}'): LIST,
    ScanKey('registry', 'talents', 'find',
            '{"_id":{"$gt":"?"},"region_code":{"$regex":"?"},"status":"?"}'): LIST,
    ScanKey('registry', 'talents', 'find',
            '{"city_code":"?","status":"?"}'): LIST,
    ScanKey('registry', 'talents', 'find',
            '{"employer_organisation_id":"?"}'): LIST,
    ScanKey('registry', 'talents', 'find',
            '{"region_code":{"$regex":"?"},"status":"?"}'): LIST,
    ScanKey('trading', 'licences', 'find',
            '{"application_number":"?"}'): LIST,
    ScanKey('trading', 'licences', 'find',
            '{"parties":"?","recordal_deadline":{"$lt":"?"},"recordal_status":"?"}'): LIST,
    ScanKey('trading', 'licences', 'find',
            '{"recordal_deadline":{"$lt":"?"},"recordal_status":"?"}'): LIST,
    ScanKey('trading', 'listings', 'find',
            '{"$or":[{"owner_organisation_id":"?"},{"agent_organisation_id":"?"}]}'): LIST,
    ScanKey('trading', 'matches', 'find',
            '{"demand_id":"?","parties":"?"}'): LIST,
    ScanKey('trading', 'matches', 'find',
            '{"listing_id":"?","parties":"?"}'): LIST,
    ScanKey('trading', 'matches', 'find',
            '{"parties":"?"}'): LIST,
    ScanKey('trading', 'negotiations', 'find',
            '{"parties":"?"}'): LIST,
    ScanKey('trading', 'pledges', 'find',
            '{"application_number":"?","parties":"?"}'): LIST,
    ScanKey('trading', 'pledges', 'find',
            '{"application_number":"?","status":"?"}'): LIST,
    ScanKey('trading', 'pledges', 'find',
            '{"application_number":"?"}'): LIST,
    ScanKey('trading', 'transfers', 'find',
            '{"application_number":"?","parties":"?"}'): LIST,
    ScanKey('trading', 'transfers', 'find',
            '{"application_number":"?","status":"?"}'): LIST,
    ScanKey('trading', 'transfers', 'find',
            '{"application_number":"?"}'): LIST,
    ScanKey('training', 'courses', 'find',
            '{"training_base_id":"?"}'): LIST,
    ScanKey('training', 'sessions', 'find',
            '{"course_id":"?"}'): LIST,
    ScanKey('trading', 'fairs', 'find',
            '{}'): DEALS,
    ScanKey('trading', 'licences', 'aggregate',
            '{"$match":{"recordal_deadline":{"$lt":"?"},"recordal_status":"?"},"$stages":"$match,$group"}'): DEALS,
    ScanKey('trading', 'licences', 'aggregate',
            '{"$match":{},"$stages":"$group"}'): DEALS,
    ScanKey('trading', 'pledges', 'find',
            '{"status":"?"}'): DEALS,
    ScanKey('trading', 'licences', 'find',
            '{"fair_id":"?"}'): FAIR,
    ScanKey('trading', 'negotiations', 'aggregate',
            '{"$match":{"fair_id":"?","status":{"$in":"[?]"}},"$stages":"$match,$group"}'): FAIR,
    ScanKey('trading', 'negotiations', 'find',
            '{"fair_id":"?"}'): FAIR,
    ScanKey('trading', 'pledges', 'find',
            '{"fair_id":"?","status":{"$in":"[?]"}}'): FAIR,
    ScanKey('trading', 'transfers', 'find',
            '{"fair_id":"?","status":"?"}'): FAIR,
    ScanKey('registry', 'talents', 'find',
            '{}'): TALLY,
    ScanKey('training', 'sessions', 'find',
            '{}'): GAUGES,
    ScanKey('training', 'talent_follow_ups', 'find',
            '{}'): FOLLOWUPS,
    ScanKey('training', 'sessions', 'find',
            '{"course_id":{"$in":"[?]"},"talent_ids":"?"}'): TALENT_SESSIONS,
    ScanKey('training', 'sessions', 'find',
            '{"talent_ids":"?"}'): TALENT_SESSIONS,
    ScanKey('training', 'courses', 'find',
            '{}'): CURRICULUM,
    ScanKey('registry', 'talents', 'find',
            '{"account_subject":"?"}'): ACCOUNT,
    ScanKey('registry', 'evaluations', 'find',
            '{"category":"?","level":"?","status":{"$in":"[?]"},"talent_id":"?"}'): OPEN_EVAL,
    ScanKey('trading', 'negotiations', 'aggregate',
            '{"$match":{"listing_id":"?","status":"?"},"$stages":"$match,$group"}'): OPEN_ON_LISTING,
    ScanKey('trading', 'demands', 'find',
            '{"status":"?"}'): DEMANDS,
    ScanKey('trading', 'royalty_reports', 'find',
            '{"licence_id":"?"}'): ROYALTY,
}
