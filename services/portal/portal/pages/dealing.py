"""What the trading pages (patents, imports, negotiations, licences, transfers, pledges and the
officer's queues of them) share: acting on a versioned resource with If-Match, and an API's refusal
turned into messages by form field, including the licence a signing conflicts with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request

from portal.apis import ApiProblem, field_errors, problem_message
from portal.i18n import Formatter
from portal.pages.common import apis, if_match, token

STALE = "Someone acted on this meanwhile: the page now shows it as it is; check it and try again."
CONFLICT = "This licence conflicts with a licence the patent already carries:"
OPEN_LICENCE = "the patent's open licence"


def conflict_of(problem: ApiProblem) -> dict[str, Any] | None:
    """The licence a refused signing conflicts with (problem type `licence-conflict`, extension
    `conflicting_licence_id`), with the page that shows it; None for any other refusal."""
    if problem.kind != "licence-conflict":
        return None
    licence_id = str(problem.body.get("conflicting_licence_id") or "")
    return {"licence_id": licence_id, "detail": problem.detail,
            "href": None if not licence_id or licence_id == "open-licence" else f"/my/licences/{licence_id}"}


def errors_of(problem: ApiProblem, fmt: Formatter, renames: Mapping[str, str] | None = None,
              under: str | None = None) -> dict[str, str]:
    """Messages by form field. `under` names a nested object whose members are the form's fields
    (`#/terms/upfront_fee_fen` -> `upfront_fee_fen`); `renames` maps API fields to form fields
    (`upfront_fee_fen` -> `upfront_fee`, the form asking in yuan)."""
    if problem.status == 412:
        return {"": fmt.gettext(STALE)}
    if under is not None:
        prefix = f"#/{under}/"
        body = dict(problem.body)
        body["errors"] = [{**e, "pointer": "#/" + str(e["pointer"])[len(prefix):]}
                          if isinstance(e, Mapping) and str(e.get("pointer", "")).startswith(prefix) else e
                          for e in problem.body.get("errors", []) or []]
        problem = ApiProblem(problem.status, body)
    found = field_errors(problem, fmt)
    for api_name, form_name in (renames or {}).items():
        if api_name in found:
            found[form_name] = found.pop(api_name)
    return found


async def act(request: Request, method: str, path: str, *, json: Any = None,
              version: str | int | None = None) -> dict[str, Any]:
    """Call the trading API as the signed-in user; returns the answer's JSON."""
    response = await apis(request).call("trading", method, path, token=await token(request), json=json,
                                        headers=if_match(version))
    answer: dict[str, Any] = response.json()
    return answer


def refusal(problem: ApiProblem, fmt: Formatter) -> str:
    """A refusal of a button (no field to show it beside) in words."""
    if problem.status == 412:
        return fmt.gettext(STALE)
    return problem_message(problem, fmt)
