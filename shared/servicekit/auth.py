"""Bearer-JWT authentication with roles.

The algorithm is pinned by configuration (never taken from the token header), and `exp`, `aud` and
`iss` are required and checked. Keys come from configuration (an HS256 secret or a public key PEM)
or from a JWKS URL. Object-level checks (is this the caller's listing?) belong to each service; the
kit only says who the caller is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Iterable
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict

from servicekit.problems import ProblemError
from servicekit.settings import ServiceSettings


class Role(StrEnum):
    PARTICIPANT = "participant"
    COORDINATOR = "coordinator"
    OFFICER = "officer"
    OPERATOR = "operator"
    ADMIN = "admin"


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    roles: frozenset[Role]
    organisation_id: str | None = None

    def has_any(self, roles: Iterable[Role]) -> bool:
        return Role.ADMIN in self.roles or bool(self.roles & set(roles))


class TokenVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None

    def _key(self, token: str) -> Any:
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key
        if self.settings.jwt_secret is None:
            raise ProblemError(503, "Authentication not configured",
                               "This service has no token key configured.", kind="auth-not-configured")
        return self.settings.jwt_secret.get_secret_value()

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self._key(token), algorithms=[self.settings.jwt_algorithm],
                audience=self.settings.jwt_audience, issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"The bearer token was rejected: {exc}") from exc
        try:
            roles = frozenset(Role(r) for r in claims.get("roles", []))
        except ValueError as exc:
            raise _unauthorized(f"The token names an unknown role: {exc}") from exc
        return Principal(subject=str(claims["sub"]), roles=roles, organisation_id=claims.get("org"))


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "Unauthorized", detail, kind="unauthorized",
                        headers={"WWW-Authenticate": 'Bearer realm="ipo"'})


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise _unauthorized("This route needs a bearer token.")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(credentials.credentials)


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting callers with any of `roles` (admins always)."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_any(roles):
            wanted = ", ".join(r.value for r in roles)
            raise ProblemError(403, "Forbidden", f"This route needs one of the roles: {wanted}.",
                               kind="forbidden")
        return principal

    # Read by the OpenAPI post-processing: an operation behind roles can answer 403.
    dependency.__servicekit_roles__ = roles  # type: ignore[attr-defined]
    return dependency


def mint_token(secret: str, subject: str, roles: Iterable[Role | str], *, issuer: str, audience: str,
               organisation_id: str | None = None, ttl_seconds: int = 3600) -> str:
    """A development token (HS256) for the local stack; production tokens come from the identity provider."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "roles": [Role(r).value for r in roles], "iat": now,
                              "exp": now + ttl_seconds, "iss": issuer, "aud": audience}
    if organisation_id:
        claims["org"] = organisation_id
    return jwt.encode(claims, secret, algorithm="HS256")
