"""What the staff and publicity pages share on top of `common`: an API action's refusal turned into
messages by form field, and local times typed into
forms (China Standard Time) as the aware timestamps the APIs ask for."""

from __future__ import annotations

import datetime as dt

from portal.apis import ApiProblem, field_errors, problem_message
from portal.i18n import Formatter

STALE = "Someone changed this meanwhile: reload the page and try again."
CHINA = dt.timezone(dt.timedelta(hours=8), "CST")


# Rules of the APIs the staff meet often, in the user's language (by the problem's type); other
# refusals show the API's title, translated when known, with its detail.
RULE_MESSAGES = {
    "two-person-rule": "Another officer than the one who submitted this edition must publish or schedule it.",
    "embargo-too-soon": "The publication time must be at least 5 minutes ahead.",
}


def refusal(problem: ApiProblem, fmt: Formatter) -> dict[str, str]:
    """An API's refusal by form field: invalid input beside its field; a stale version or a rule of the
    API (409, 403: the two-person rule, a wrong state) for the form as a whole."""
    if problem.status == 412:
        return {"": fmt.gettext(STALE)}
    if problem.status in (400, 422) and problem.body.get("errors"):
        return field_errors(problem, fmt)
    if problem.kind in RULE_MESSAGES:
        return {"": fmt.gettext(RULE_MESSAGES[problem.kind])}
    message = problem_message(problem, fmt)
    if problem.detail and problem.detail not in message:
        message = f"{message}: {problem.detail}"  # the API's reason, even where only its title is translated
    return {"": message}


def local_to_aware(text: str) -> str | None:
    """A `datetime-local` field's value (taken as China Standard Time) in ISO 8601 with its offset;
    None when empty or not a time (the API then names the field)."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return moment.isoformat()


def lines(text: str) -> list[str]:
    """A textarea's non-empty lines."""
    return [line.strip() for line in text.splitlines() if line.strip()]
