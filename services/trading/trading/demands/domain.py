"""Technology demands: the rules, free of I/O. A demand is posted open and stays open until its owner
closes it; open demands take part in matchmaking."""

from __future__ import annotations

from enum import StrEnum


class DemandStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def may_read(organisation_id: str | None, owner: str, staff: bool = False) -> bool:
    """A demand is the owner's private business (and IPO staff's): others learn of it only through a
    match suggestion."""
    return staff or (organisation_id is not None and organisation_id == owner)
