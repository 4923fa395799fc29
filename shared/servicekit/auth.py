"""Bearer-JWT authentication with roles.

The algorithm is pinned by configuration (never taken from the token header), and `exp`, `aud` and
`iss` are required and checked. Keys come from configuration (an HS256 secret or a public key PEM)
or from a JWKS URL. A second issuer (`oidc_issuer`, RS256 through `oidc_jwks_url`) may be trusted
beside the first: the token's unverified `iss` only picks which configured verifier checks it.
Roles come from the `roles` claim (development tokens) or from Keycloak's `realm_access.roles`, of
which only the platform's roles count (Keycloak adds its own, such as offline_access).

Object-level checks (is this the caller's listing?) belong to each service; the kit only says who the caller is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Iterable
from enum import StrEnum
from typing import Annotated, Any

import jwt
from cachetools import TLRUCache
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


# A JWKS fetch blocks the request that needs it (rarely: the keys are cached); never for long.
_JWKS_TIMEOUT_SECONDS = 5
# Tokens already verified, each kept until its `exp`: a client sends the same token with every request
# until it expires, and checking it again (signature, claims, the Principal) was 2-3% of the trading
# API's CPU under the publish benchmark (README, "Twenty-eighth session"). A token's signature and
# claims cannot change, and the only check whose answer moves with time is `exp`, so a cached answer
# is the answer a new check would give until then. Refusals are not kept (they cost little and may be
# a clock still behind `iat`/`nbf`). One difference: a token signed with a key the identity provider
# has since withdrawn from its JWKS stays accepted until its `exp` (minutes for Keycloak's access
# tokens), as it already did for as long as PyJWKClient kept the old key set.
_VERIFIED_TOKENS = 10_000


class TokenVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._jwks = (jwt.PyJWKClient(settings.jwt_jwks_url, timeout=_JWKS_TIMEOUT_SECONDS)
                      if settings.jwt_jwks_url else None)
        self._oidc_jwks = (jwt.PyJWKClient(settings.oidc_jwks_url, timeout=_JWKS_TIMEOUT_SECONDS)
                           if settings.oidc_issuer and settings.oidc_jwks_url else None)
        self._verified: TLRUCache[str, tuple[Principal, float]] = TLRUCache(
            maxsize=_VERIFIED_TOKENS, ttu=lambda _token, verified, _now: verified[1], timer=time.time)

    def _key(self, token: str) -> Any:
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key
        if self.settings.jwt_secret is None:
            raise ProblemError(503, "Authentication not configured",
                               "This service has no token key configured.", kind="auth-not-configured")
        return self.settings.jwt_secret.get_secret_value()

    def _second_issuer(self, token: str) -> bool:
        """Whether the token claims the second trusted issuer (checked by its signature next)."""
        if self._oidc_jwks is None:
            return False
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return bool(unverified.get("iss") == self.settings.oidc_issuer)

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            return known[0]
        principal, expires_at = self._check(token)
        self._verified[token] = (principal, expires_at)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        try:
            if self._oidc_jwks is not None and self._second_issuer(token):
                key, algorithm, issuer = (self._oidc_jwks.get_signing_key_from_jwt(token).key, "RS256",
                                          self.settings.oidc_issuer)
            else:
                key, algorithm, issuer = self._key(token), self.settings.jwt_algorithm, self.settings.jwt_issuer
            claims = jwt.decode(
                token, key, algorithms=[algorithm], audience=self.settings.jwt_audience, issuer=issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"The bearer token was rejected: {exc}") from exc
        return (Principal(subject=str(claims["sub"]), roles=roles_of_claims(claims), organisation_id=claims.get("org")),
                float(claims["exp"]))


def roles_of_claims(claims: dict[str, Any]) -> frozenset[Role]:
    """The platform roles a verified token grants.

    A development token lists them in `roles`, where an unknown name is an error. Keycloak lists realm
    roles in `realm_access.roles`, among them its own (default-roles-<realm>, offline_access): only
    the platform's count there.
    """
    if "roles" in claims:
        try:
            return frozenset(Role(r) for r in claims["roles"])
        except ValueError as exc:
            raise _unauthorized(f"The token names an unknown role: {exc}") from exc
    realm_access = claims.get("realm_access")
    names = realm_access.get("roles", []) if isinstance(realm_access, dict) else []
    known = {r.value for r in Role}
    return frozenset(Role(r) for r in names if isinstance(r, str) and r in known)


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
