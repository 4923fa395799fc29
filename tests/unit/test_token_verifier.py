"""The kit's token verifier keeps a verified token's answer until the token expires, and no longer."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from pydantic import SecretStr
from servicekit.auth import Role, TokenVerifier, mint_token
from servicekit.problems import ProblemError
from servicekit.settings import ServiceSettings

SECRET = "unit-test-secret-of-at-least-32-bytes"
SETTINGS = ServiceSettings(service_name="tokens", jwt_secret=SecretStr(SECRET))


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token PyJWT was asked to verify."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)  # the module servicekit.auth calls
    return seen


def token(subject: str, ttl_seconds: int = 3600) -> str:
    return mint_token(SECRET, subject, [Role.PARTICIPANT], issuer=SETTINGS.jwt_issuer, audience=SETTINGS.jwt_audience,
                      organisation_id="org-1", ttl_seconds=ttl_seconds)


def test_a_token_is_verified_once_and_answered_alike_afterwards(decodes: list[str]) -> None:
    verifier = TokenVerifier(SETTINGS)
    first, second = token("alice"), token("bob")
    answers = [verifier.verify(first), verifier.verify(first), verifier.verify(second), verifier.verify(first)]
    assert [a.subject for a in answers] == ["alice", "alice", "bob", "alice"]
    assert answers[0] == answers[1] == answers[3]
    assert answers[0].organisation_id == "org-1" and answers[0].roles == frozenset({Role.PARTICIPANT})
    assert decodes == [first, second]


def test_a_refused_token_is_checked_again_every_time(decodes: list[str]) -> None:
    verifier = TokenVerifier(SETTINGS)
    now = int(time.time())
    claims = {"sub": "mallory", "roles": ["admin"], "iat": now, "exp": now + 60, "iss": SETTINGS.jwt_issuer,
              "aud": SETTINGS.jwt_audience}
    forged = jwt.encode(claims, "another-secret-of-32-bytes-or-more", algorithm="HS256")
    for _ in range(2):
        with pytest.raises(ProblemError) as refused:
            verifier.verify(forged)
        assert refused.value.status == 401
    assert decodes == [forged, forged]


def test_a_kept_token_is_refused_once_it_expires() -> None:
    verifier = TokenVerifier(SETTINGS)
    short = token("carol", ttl_seconds=1)
    assert verifier.verify(short).subject == "carol"
    expires_at = jwt.decode(short, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires_at - time.time()) + 0.05)
    with pytest.raises(ProblemError) as refused:
        verifier.verify(short)
    assert refused.value.status == 401 and "expired" in refused.value.detail.lower()
