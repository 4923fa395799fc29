"""Transfers (assignments): applied when the assignment is signed, in effect only once registered.
Pure rules, no I/O.

    applied --register (no active pledge on the patent)--> registered
    applied --cancel--> cancelled

Registration moves ownership: every listing of the patent gets the assignee as owner.
"""

from __future__ import annotations

from enum import StrEnum


class TransferStatus(StrEnum):
    APPLIED = "applied"
    REGISTERED = "registered"
    CANCELLED = "cancelled"


class TransferRuleError(ValueError):
    """An action the transfer's state does not allow; the message says why."""


def check_registrable(status: TransferStatus, blocking_pledge_id: str | None) -> None:
    if status is not TransferStatus.APPLIED:
        raise TransferRuleError(f"only an applied transfer can be registered; this one is {status.value}")
    if blocking_pledge_id is not None:
        raise TransferRuleError(f"the patent is pledged (pledge {blocking_pledge_id}); a transfer can only be "
                                "registered once the pledge is released")
