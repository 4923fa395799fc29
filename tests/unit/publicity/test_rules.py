"""Publicity's pure rules: the release state machine, the two-person rule, the embargo, campaign dates
and pins, and the milestone texts' anonymity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from publicity.campaigns.domain import (
    CampaignRuleError,
    CampaignStatus,
    check_dates,
    check_transition,
    listed,
    overlaps,
)
from publicity.milestones.drafting import Party, deal_draft
from publicity.releases.domain import (
    Action,
    ReleaseRuleError,
    ReleaseState,
    check_embargo,
    check_force_approval,
    check_second_person,
    is_due,
    next_state,
)

NOW = datetime(2027, 4, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("state", "action", "to"), [
    (ReleaseState.DRAFT, Action.SUBMIT, ReleaseState.SUBMITTED),
    (ReleaseState.SUBMITTED, Action.REJECT, ReleaseState.REJECTED),
    (ReleaseState.REJECTED, Action.EDIT, ReleaseState.DRAFT),
    (ReleaseState.SUBMITTED, Action.SCHEDULE, ReleaseState.SCHEDULED),
    (ReleaseState.SCHEDULED, Action.UNSCHEDULE, ReleaseState.SUBMITTED),
    (ReleaseState.SUBMITTED, Action.PUBLISH, ReleaseState.PUBLISHED),
    (ReleaseState.DRAFT, Action.FORCE_PUBLISH, ReleaseState.PUBLISHED),
    (ReleaseState.PUBLISHED, Action.WITHDRAW, ReleaseState.WITHDRAWN),
    (ReleaseState.PUBLISHED, Action.NEW_EDITION, ReleaseState.DRAFT),
    (ReleaseState.WITHDRAWN, Action.NEW_EDITION, ReleaseState.DRAFT),
])
def test_allowed_transitions(state: ReleaseState, action: Action, to: ReleaseState) -> None:
    assert next_state(state, action) is to


@pytest.mark.parametrize(("state", "action"), [
    (ReleaseState.DRAFT, Action.PUBLISH), (ReleaseState.DRAFT, Action.SCHEDULE),
    (ReleaseState.PUBLISHED, Action.SUBMIT), (ReleaseState.WITHDRAWN, Action.WITHDRAW),
    (ReleaseState.SUBMITTED, Action.EDIT), (ReleaseState.PUBLISHED, Action.FORCE_PUBLISH),
    (ReleaseState.DRAFT, Action.NEW_EDITION),  # one unpublished edition at a time
])
def test_refused_transitions(state: ReleaseState, action: Action) -> None:
    with pytest.raises(ReleaseRuleError):
        next_state(state, action)


def test_the_submitter_cannot_schedule_or_publish() -> None:
    for action in (Action.SCHEDULE, Action.PUBLISH):
        with pytest.raises(ReleaseRuleError) as refused:
            check_second_person(action, "alice", "alice")
        assert refused.value.kind == "two-person-rule"
        check_second_person(action, "bob", "alice")
    check_second_person(Action.REJECT, "alice", "alice")  # anyone may send it back


def test_force_publish_needs_another_officer_to_approve_once() -> None:
    with pytest.raises(ReleaseRuleError):
        check_force_approval("alice", None, "alice")
    with pytest.raises(ReleaseRuleError):
        check_force_approval("alice", "bob", "carol")
    with pytest.raises(ReleaseRuleError):
        check_force_approval(None, None, "bob")
    check_force_approval("alice", None, "bob")


def test_embargo_at_least_five_minutes_ahead() -> None:
    with pytest.raises(ReleaseRuleError):
        check_embargo(NOW + timedelta(minutes=4, seconds=59), NOW)
    check_embargo(NOW + timedelta(minutes=5), NOW)
    assert not is_due(ReleaseState.SCHEDULED, NOW + timedelta(seconds=1), NOW)
    assert is_due(ReleaseState.SCHEDULED, NOW, NOW)
    assert not is_due(ReleaseState.PUBLISHED, NOW, NOW)  # publishing is idempotent


def test_campaign_rules() -> None:
    with pytest.raises(CampaignRuleError):
        check_dates(date(2027, 4, 26), date(2027, 4, 20))
    check_dates(date(2027, 4, 20), date(2027, 4, 26))
    check_transition(CampaignStatus.PLANNED, CampaignStatus.OPEN)
    with pytest.raises(CampaignRuleError):
        check_transition(CampaignStatus.PLANNED, CampaignStatus.CLOSED)
    week = (date(2027, 4, 20), date(2027, 4, 26))
    assert overlaps(*week, date(2027, 4, 25), date(2027, 4, 28))
    assert not overlaps(*week, date(2027, 4, 27), date(2027, 4, 28))
    assert listed(True, None) and not listed(True, False) and listed(False, True) and not listed(False, None)


def test_deal_drafts_are_anonymous_without_both_parties_consent() -> None:
    licensor = Party(name="沈阳新能源电池有限公司", kind="enterprise", region_code="210102")
    licensee = Party(name="Dalian Membrane Tech", kind="university", region_code="210200")
    anonymous = deal_draft("licence", licensor, licensee, "2023100012345", "锂离子电池隔膜", 12_345_600, False)
    for text in (anonymous.title, anonymous.body, anonymous.title_en, anonymous.body_en):
        assert "沈阳新能源" not in text and "Membrane" not in text and "123,456" not in text
        assert "锂离子" not in text
    assert anonymous.body_en.startswith("An enterprise in Shenyang licensed an invention patent to a university")
    assert "沈阳的一家企业" in anonymous.body
    named = deal_draft("licence", licensor, licensee, "2023100012345", "锂离子电池隔膜", 12_345_600, True)
    assert "沈阳新能源电池有限公司" in named.body and "Dalian Membrane Tech" in named.body_en
    assert "123,456.00" in named.body_en
