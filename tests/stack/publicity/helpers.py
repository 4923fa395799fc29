"""Helpers for publicity's stack tests."""

from __future__ import annotations

from typing import Any

import httpx
from devstack.layout import Profile

from tests.support.stack import api_url, token


def officer(profile: Profile, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(profile, subject, 'officer')}"}


def base(profile: Profile) -> str:
    return api_url(profile, "publicity")


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def act(profile: Profile, release: dict[str, Any], action: str, who: str, body: dict[str, Any] | None = None,
        status: int = 200) -> dict[str, Any]:
    """POST an action on a release with its current ETag; returns the answer's body."""
    response = httpx.post(f"{base(profile)}/v1/releases/{release['id']}/{action}", json=body,
                          headers={**officer(profile, who), "If-Match": f'"{release["version"]}"'})
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def draft(profile: Profile, who: str = "officer-a", title: str = "知识产权宣传周开幕") -> dict[str, Any]:
    return ok(httpx.post(f"{base(profile)}/v1/releases", headers=officer(profile, who), json={
        "title": title, "summary": "宣传周今日开幕", "body": "辽宁省知识产权宣传周今日开幕。",
        "title_en": "IP Publicity Week opens", "body_en": "Liaoning's IP Publicity Week opens today."}), 201)


def public_status(profile: Profile, release_id: str) -> int:
    return httpx.get(f"{base(profile)}/v1/public/releases/{release_id}").status_code


def in_feeds(profile: Profile, release_id: str) -> tuple[bool, bool, bool]:
    """Whether the release is in the public list, the Atom feed and the JSON feed."""
    listed = any(i["id"] == release_id for i in httpx.get(f"{base(profile)}/v1/public/releases?limit=100")
                 .json()["items"])
    atom = release_id in httpx.get(f"{base(profile)}/v1/feeds/news.atom").text
    json_feed = release_id in httpx.get(f"{base(profile)}/v1/feeds/news.json").text
    return listed, atom, json_feed
