"""Press releases and news items: the editorial rules, pure (after GOV.UK's publisher).

The working edition moves through

    draft --submit--> submitted --reject(reason)--> rejected --edit--> draft
                      submitted --schedule(at >= now + 5 min)--> scheduled --due--> published
                      submitted --publish--> published
                      scheduled --unschedule--> submitted
    draft | submitted | rejected | scheduled --force-publish(reason)--> published (approval pending)
    published --withdraw(explanation)--> withdrawn (the page stays, with the explanation)
    published | withdrawn --new edition(change note)--> draft (edition n + 1; the public keeps edition n
                                                               until n + 1 is published, which supersedes it)

One unpublished edition at a time. Two-person rule: the officer who submitted the edition may not
schedule or publish it; a force-publish skips review but needs a reason and an approval afterwards by
an officer other than the one who forced it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class ReleaseState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    REJECT = "reject"
    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"
    PUBLISH = "publish"
    FORCE_PUBLISH = "force_publish"
    WITHDRAW = "withdraw"
    NEW_EDITION = "new_edition"


class ReleaseRuleError(ValueError):
    """The release's state or the two-person rule does not allow this; `kind` names the rule."""

    def __init__(self, message: str, kind: str = "release-state") -> None:
        super().__init__(message)
        self.kind = kind


TRANSITIONS: dict[Action, tuple[frozenset[ReleaseState], ReleaseState]] = {
    Action.EDIT: (frozenset({ReleaseState.DRAFT, ReleaseState.REJECTED}), ReleaseState.DRAFT),
    Action.SUBMIT: (frozenset({ReleaseState.DRAFT}), ReleaseState.SUBMITTED),
    Action.REJECT: (frozenset({ReleaseState.SUBMITTED}), ReleaseState.REJECTED),
    Action.SCHEDULE: (frozenset({ReleaseState.SUBMITTED}), ReleaseState.SCHEDULED),
    Action.UNSCHEDULE: (frozenset({ReleaseState.SCHEDULED}), ReleaseState.SUBMITTED),
    Action.PUBLISH: (frozenset({ReleaseState.SUBMITTED}), ReleaseState.PUBLISHED),
    Action.FORCE_PUBLISH: (frozenset({ReleaseState.DRAFT, ReleaseState.SUBMITTED, ReleaseState.REJECTED,
                                      ReleaseState.SCHEDULED}), ReleaseState.PUBLISHED),
    Action.WITHDRAW: (frozenset({ReleaseState.PUBLISHED}), ReleaseState.WITHDRAWN),
    Action.NEW_EDITION: (frozenset({ReleaseState.PUBLISHED, ReleaseState.WITHDRAWN}), ReleaseState.DRAFT),
}

MIN_EMBARGO = timedelta(minutes=5)


def next_state(state: ReleaseState, action: Action) -> ReleaseState:
    allowed, to = TRANSITIONS[action]
    if state not in allowed:
        raise ReleaseRuleError(f"cannot {action.value.replace('_', ' ')} a release whose edition is {state.value}")
    return to


def check_second_person(action: Action, actor: str, submitted_by: str | None) -> None:
    """Whoever submitted the edition cannot schedule or publish it."""
    if action in (Action.SCHEDULE, Action.PUBLISH) and submitted_by is not None and actor == submitted_by:
        raise ReleaseRuleError(f"{actor} submitted this edition; another officer must {action.value} it",
                               kind="two-person-rule")


def check_force_approval(forced_by: str | None, approved_by: str | None, approver: str) -> None:
    if forced_by is None:
        raise ReleaseRuleError("this edition was not force-published; there is nothing to approve",
                               kind="not-force-published")
    if approved_by is not None:
        raise ReleaseRuleError(f"already approved by {approved_by}", kind="already-approved")
    if approver == forced_by:
        raise ReleaseRuleError(f"{approver} force-published this edition; another officer must approve it",
                               kind="two-person-rule")


def check_embargo(publish_at: datetime, now: datetime, minimum: timedelta = MIN_EMBARGO) -> None:
    if publish_at < now + minimum:
        raise ReleaseRuleError(
            f"an embargo must be at least {int(minimum.total_seconds())} s ahead; {publish_at.isoformat()} is not",
            kind="embargo-too-soon")


def is_due(state: ReleaseState, scheduled_for: datetime | None, now: datetime) -> bool:
    return state is ReleaseState.SCHEDULED and scheduled_for is not None and scheduled_for <= now
