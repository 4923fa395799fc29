"""HTTP edge cases through a real API process: wrong media type, oversized streamed body, 405 Allow,
malformed JSON position, and docs pages that work without internet (their assets served locally)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin

import httpx
import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess

from tests.support.stack import api_url, auth

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def registry(services: dict[str, ManagedProcess], test_profile: Profile) -> str:
    if "registry-api" not in services:
        pytest.skip("IPO_TEST_SERVICES leaves the registry out of this local run (CI starts every service)")
    return api_url(test_profile, "registry")


def test_a_body_of_another_media_type_is_415(registry: str, test_profile: Profile) -> None:
    response = httpx.post(f"{registry}/v1/organisations", content=b"credit_code=1",
                          headers={**auth(test_profile), "Content-Type": "text/plain"})
    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [{"header": "Content-Type", "detail": "got text/plain"}]


def test_an_oversized_streamed_body_is_413(registry: str, test_profile: Profile) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 32 * 1024  # 1.25 MiB in all, sent chunked: no Content-Length to refuse up front
        yield b'"}'

    response = httpx.post(f"{registry}/v1/organisations", content=chunks(),
                          headers={**auth(test_profile), "Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.json()["type"].endswith("content-too-large")


def test_405_allows_every_method_of_the_path(registry: str, test_profile: Profile) -> None:
    response = httpx.delete(f"{registry}/v1/organisations/91210100MA0QTEXT09", headers=auth(test_profile))
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "PATCH"}


def test_malformed_json_gives_the_position_in_members_of_its_own(registry: str, test_profile: Profile) -> None:
    response = httpx.post(f"{registry}/v1/organisations", content=b'{"credit_code":\n  oops}',
                          headers={**auth(test_profile), "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["pointer"] == "#"  # the whole body; not "#/18", which would name a member "18"
    assert (error["position"], error["line"], error["column"]) == (18, 2, 3)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_their_assets_from_the_service(registry: str, page: str) -> None:
    html = httpx.get(f"{registry}{page}").text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"url: *'([^']+)'", html)
    assert urls, html
    assert not [u for u in urls if u.startswith(("http://", "https://", "//"))], urls
    for url in urls:
        assert httpx.get(urljoin(f"{registry}{page}", url)).status_code == 200, url
