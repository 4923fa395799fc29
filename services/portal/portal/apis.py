"""Calls to the four APIs, as the signed-in user (their bearer token) or anonymously.

An API's refusal arrives as problem+json; `ApiProblem` keeps it, and `field_errors` files each of its
errors under the form field its JSON pointer names (`#/title` -> `title`), so the page can show the
message beside that field.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from servicekit.app import CLIENT_KEEPALIVE_EXPIRY_SECONDS

from portal.i18n import Formatter

SERVICES = ("trading", "registry", "training", "publicity")


@dataclass
class ApiProblem(Exception):
    status: int
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.body.get("title") or "Error")

    @property
    def detail(self) -> str:
        return str(self.body.get("detail") or "")

    @property
    def kind(self) -> str:
        return str(self.body.get("type", "")).rsplit("/", 1)[-1]


# Pydantic's error codes, as the APIs pass them on, in words the user's language has.
_CODE_MESSAGES = {
    "missing": "This field is required.",
    "string_too_short": "This is too short.",
    "string_too_long": "This is too long.",
    "string_pattern_mismatch": "This is not in the expected format.",
    "enum": "Choose one of the offered values.",
    "int_parsing": "Enter a whole number.",
    "greater_than_equal": "The value is too small.",
    "less_than_equal": "The value is too large.",
    "date_from_datetime_parsing": "Enter a date.",
    "date_parsing": "Enter a date.",
    "too_short": "Choose at least one.",
    "value_error": "This value is not valid.",
}


def field_of(pointer: str) -> str:
    """The top-level form field a JSON pointer names: `#/deal_types/0` -> `deal_types`; `#` -> ``."""
    parts = pointer.lstrip("#").strip("/").split("/")
    return parts[0].replace("~1", "/").replace("~0", "~") if parts and parts[0] else ""


def field_errors(problem: ApiProblem, fmt: Formatter) -> dict[str, str]:
    """Messages by form field ("" for the form as a whole), in the user's language where known."""
    found: dict[str, str] = {}
    for error in problem.body.get("errors", []) or []:
        if not isinstance(error, Mapping):
            continue
        name = field_of(str(error.get("pointer", ""))) if "pointer" in error else str(error.get("query", ""))
        code = str(error.get("code", ""))
        message = fmt.gettext(_CODE_MESSAGES[code]) if code in _CODE_MESSAGES else str(error.get("detail", ""))
        found.setdefault(name, message)
    if not found:
        found[""] = problem_message(problem, fmt)
    return found


def problem_message(problem: ApiProblem, fmt: Formatter) -> str:
    """The problem's title in the user's language when the catalog knows it, with the API's detail."""
    title = fmt.gettext(problem.title)
    if fmt.language == "en" or title == problem.title:
        return f"{problem.title}: {problem.detail}" if problem.detail else problem.title
    return title


class Apis:
    def __init__(self, urls: Mapping[str, str], timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._urls = dict(urls)
        # Idle connections go before the APIs close them (see servicekit.app.SERVER_KEEP_ALIVE_SECONDS).
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport,
                                         limits=httpx.Limits(keepalive_expiry=CLIENT_KEEPALIVE_EXPIRY_SECONDS))

    async def close(self) -> None:
        await self._client.aclose()

    async def call(self, service: str, method: str, path: str, *, token: str | None = None,
                   params: Mapping[str, Any] | None = None, json: Any = None,
                   headers: Mapping[str, str] | None = None, content: bytes | None = None) -> httpx.Response:
        sent = {"Accept": "application/json, application/problem+json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if method == "POST" and "Idempotency-Key" not in sent:
            # One key per form submission: a retried call creates nothing twice.
            sent["Idempotency-Key"] = f"portal-{uuid.uuid4().hex}"
        response = await self._client.request(method, self._urls[service] + path, params=params, json=json,
                                              content=content, headers=sent)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"title": response.reason_phrase, "detail": response.text[:200]}
            raise ApiProblem(response.status_code, body if isinstance(body, dict) else {})
        return response

    async def get(self, service: str, path: str, *, token: str | None = None,
                  params: Mapping[str, Any] | None = None) -> Any:
        return (await self.call(service, "GET", path, token=token, params=params)).json()
