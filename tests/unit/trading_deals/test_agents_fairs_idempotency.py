"""The agent rule on projected talents, fair lifecycle rules, and action idempotency keys."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from servicekit.problems import ProblemError
from trading.fairs.domain import FairRuleError, FairStatus, check_close, check_dates, check_joinable, check_open
from trading.negotiations.idempotency import action_digest, remember, replayed
from trading.talents.projection import agent_refusal


def talent(**changes: Any) -> dict[str, Any]:
    return {"_id": "tal-1", "status": "active", "categories": ["patent_agency"], **changes}


@pytest.mark.parametrize("categories", [["patent_agency"], ["ip_services"], ["enforcement", "ip_services"]])
def test_active_patent_agents_and_ip_service_talents_may_act(categories: list[str]) -> None:
    assert agent_refusal(talent(categories=categories), "tal-1") is None


@pytest.mark.parametrize(("doc", "reason"), [
    (None, "knows no talent"),
    (talent(status="suspended"), "suspended, not active"),
    (talent(status="removed"), "removed, not active"),
    (talent(status="inactive"), "inactive, not active"),
    (talent(categories=["enforcement", "information_retrieval_analysis"]), "neither a patent agent"),
    (talent(categories=[]), "neither a patent agent"),
])
def test_everyone_else_may_not(doc: dict[str, Any] | None, reason: str) -> None:
    refusal = agent_refusal(doc, "tal-1")
    assert refusal is not None and reason in refusal


def test_fair_lifecycle() -> None:
    check_dates(date(2027, 4, 20), date(2027, 4, 20))
    with pytest.raises(FairRuleError, match="before it starts"):
        check_dates(date(2027, 4, 21), date(2027, 4, 20))
    check_open(FairStatus.PLANNED, date(2027, 4, 23), today=date(2027, 4, 23))
    with pytest.raises(FairRuleError, match="no longer open"):
        check_open(FairStatus.PLANNED, date(2027, 4, 23), today=date(2027, 4, 24))
    with pytest.raises(FairRuleError, match="only a planned fair"):
        check_open(FairStatus.OPEN, date(2027, 4, 23), today=date(2027, 4, 20))
    check_close(FairStatus.OPEN)
    for status in (FairStatus.PLANNED, FairStatus.CLOSED):
        with pytest.raises(FairRuleError):
            check_close(status)
    check_joinable(FairStatus.PLANNED)
    check_joinable(FairStatus.OPEN)
    with pytest.raises(FairRuleError, match="closed"):
        check_joinable(FairStatus.CLOSED)


def test_an_action_key_is_remembered_with_its_body() -> None:
    digest = action_digest("user-1", "retry.me-1", "accept:NEG-1")
    assert "." not in digest and "$" not in digest  # usable as a MongoDB field name
    assert digest != action_digest("user-2", "retry.me-1", "accept:NEG-1")  # scoped to the caller
    assert digest != action_digest("user-1", "retry.me-1", "reject:NEG-1")  # and to the action
    body = {"terms": {"upfront_fee_fen": 5}}
    doc = {"action_keys": {k.split(".", 1)[1]: v for k, v in remember(digest, body).items()}}
    assert replayed(doc, digest, body) is True
    assert replayed(doc, None, body) is False
    assert replayed({}, digest, body) is False
    with pytest.raises(ProblemError) as reused:
        replayed(doc, digest, {"terms": {"upfront_fee_fen": 6}})
    assert reused.value.status == 422
    assert remember(None, body) == {}
