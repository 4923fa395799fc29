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


EXPECTED_SCANS: dict[ScanKey, str] = {
}
