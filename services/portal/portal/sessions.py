"""The session: an encrypted, http-only, same-site cookie (Fernet: AES with an HMAC), so any number of
portal processes can serve a user and no session store exists to run.

It holds the user's tokens (the access token the APIs are called with, the refresh token that ends the
Keycloak session at sign-out), the CSRF token of the forms, and the state of a sign-in under way.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request, Response

COOKIE = "ipo_session"
# Browsers keep cookies up to 4096 bytes; a session that would not fit is refused rather than lost.
MAX_COOKIE_BYTES = 4000


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    access_token: str | None = None
    refresh_token: str | None = None
    expires_at: float = 0.0
    # What the navigation needs without a call: who, which roles, which organisation.
    user: str | None = None
    roles: list[str] = field(default_factory=list)
    org: str | None = None
    # A sign-in under way (authorisation code flow with PKCE).
    login_state: str | None = None
    login_verifier: str | None = None
    login_nonce: str | None = None
    login_return_to: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.access_token is not None and self.expires_at > time.time()

    def has_role(self, *roles: str) -> bool:
        return "admin" in self.roles or any(r in self.roles for r in roles)

    def csrf_ok(self, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf, submitted or "")

    def sign_out(self) -> None:
        self.access_token = self.refresh_token = self.user = self.org = None
        self.roles = []
        self.expires_at = 0.0
        self.csrf = secrets.token_urlsafe(24)  # a new session identity after sign-out


class SessionCodec:
    def __init__(self, key: bytes, max_age_seconds: int) -> None:
        self._fernet = Fernet(key)
        self.max_age_seconds = max_age_seconds

    def encode(self, session: Session) -> str:
        raw = zlib.compress(json.dumps(asdict(session), separators=(",", ":")).encode())
        return self._fernet.encrypt(raw).decode()

    def decode(self, value: str | None) -> Session | None:
        if not value:
            return None
        try:
            raw = self._fernet.decrypt(value.encode(), ttl=self.max_age_seconds)
            data: dict[str, Any] = json.loads(zlib.decompress(raw))
            return Session(**data)
        except (InvalidToken, ValueError, TypeError, zlib.error):
            return None  # tampered, expired or from an older portal: start afresh


def load(request: Request) -> Session:
    """The request's session (a fresh one when there is none or it does not decrypt)."""
    cached = getattr(request.state, "session", None)
    if isinstance(cached, Session):
        return cached
    codec: SessionCodec = request.app.state.sessions
    session = codec.decode(request.cookies.get(COOKIE)) or Session()
    request.state.session = session
    return session


def save(request: Request, response: Response, session: Session) -> None:
    codec: SessionCodec = request.app.state.sessions
    value = codec.encode(session)
    if len(value) > MAX_COOKIE_BYTES:
        raise RuntimeError(f"the session cookie would be {len(value)} bytes, over what browsers keep")
    response.set_cookie(COOKIE, value, max_age=codec.max_age_seconds, httponly=True, samesite="lax",
                        secure=request.app.state.settings.secure_cookies, path="/")
