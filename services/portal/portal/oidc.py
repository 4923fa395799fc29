"""Sign-in with Keycloak: the authorisation code flow with PKCE (S256), through Authlib's OAuth 2 client.

The portal is a confidential client: the code is exchanged on the back channel with the client secret
and the PKCE verifier. The access token it gets is verified like every API verifies it (servicekit's
TokenVerifier: the realm's JWKS, issuer, audience), and gives the navigation its roles and organisation.
Sign-out ends the Keycloak session too (the logout endpoint, called with the refresh token).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from servicekit.auth import TokenVerifier

from portal.sessions import Session
from portal.settings import PortalSettings


class SignInError(Exception):
    pass


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    end_session: str


class Oidc:
    def __init__(self, settings: PortalSettings, verifier: TokenVerifier) -> None:
        self.settings = settings
        self.verifier = verifier
        self._endpoints: Endpoints | None = None

    @property
    def configured(self) -> bool:
        return bool(self.settings.oidc_issuer and self.settings.oidc_client_secret)

    @property
    def redirect_uri(self) -> str:
        return self.settings.public_url.rstrip("/") + "/auth/callback"

    def _client(self) -> AsyncOAuth2Client:
        secret = self.settings.oidc_client_secret
        return AsyncOAuth2Client(client_id=self.settings.oidc_client_id,
                                 client_secret=secret.get_secret_value() if secret else None,
                                 scope="openid", redirect_uri=self.redirect_uri, code_challenge_method="S256",
                                 timeout=self.settings.api_timeout_seconds)

    async def endpoints(self) -> Endpoints:
        """From the realm's discovery document, read once."""
        if self._endpoints is None:
            async with httpx.AsyncClient(timeout=self.settings.api_timeout_seconds) as client:
                response = await client.get(f"{self.settings.oidc_issuer}/.well-known/openid-configuration")
                response.raise_for_status()
                found = response.json()
            self._endpoints = Endpoints(found["authorization_endpoint"], found["token_endpoint"],
                                        found["end_session_endpoint"])
        return self._endpoints

    async def begin(self, session: Session, return_to: str, language: str) -> str:
        """The Keycloak URL to send the browser to; the state, verifier and nonce go into the session."""
        endpoints = await self.endpoints()
        verifier = generate_token(64)
        nonce = generate_token(24)
        async with self._client() as client:
            url, state = client.create_authorization_url(endpoints.authorization, code_verifier=verifier,
                                                         nonce=nonce, ui_locales=language)
        session.login_state, session.login_verifier, session.login_nonce = state, verifier, nonce
        session.login_return_to = return_to
        return str(url)

    async def complete(self, session: Session, code: str, state: str) -> str:
        """Exchange the code; sign the session in. Returns where the user was going."""
        if not session.login_state or state != session.login_state or not session.login_verifier:
            raise SignInError("the sign-in state does not match this browser's")
        endpoints = await self.endpoints()
        async with self._client() as client:
            token: dict[str, Any] = await client.fetch_token(endpoints.token, grant_type="authorization_code",
                                                             code=code, code_verifier=session.login_verifier)
        self._nonce_matches(token, session.login_nonce)
        self._sign_in(session, token)
        return_to = session.login_return_to or "/"
        session.login_state = session.login_verifier = session.login_nonce = session.login_return_to = None
        return return_to

    def _nonce_matches(self, token: dict[str, Any], nonce: str | None) -> None:
        # The ID token came straight from the token endpoint over TLS in the cluster, with the client's
        # secret; its nonce still ties it to this browser's sign-in.
        id_token = token.get("id_token")
        if not id_token:
            raise SignInError("Keycloak returned no ID token")
        claims = jwt.decode(str(id_token), options={"verify_signature": False})
        if claims.get("nonce") != nonce:
            raise SignInError("the ID token's nonce is not this sign-in's")

    def _sign_in(self, session: Session, token: dict[str, Any]) -> None:
        access = str(token["access_token"])
        principal = self.verifier.verify(access)  # the same checks as every API's
        claims = jwt.decode(access, options={"verify_signature": False})
        session.access_token = access
        session.refresh_token = token.get("refresh_token")
        session.expires_at = float(claims.get("exp", time.time() + 60))
        session.user = _display_name(claims) or principal.subject
        session.roles = sorted(r.value for r in principal.roles)
        session.org = principal.organisation_id

    async def refresh(self, session: Session) -> bool:
        """A new access token from the refresh token; False when Keycloak's session has ended."""
        if not session.refresh_token:
            return False
        endpoints = await self.endpoints()
        try:
            async with self._client() as client:
                token = await client.refresh_token(endpoints.token, refresh_token=session.refresh_token)
        except Exception:
            return False
        self._sign_in(session, dict(token))
        return True

    async def end_session(self, session: Session) -> None:
        """End the Keycloak session (back channel), so the next sign-in asks for the password again."""
        if not session.refresh_token or not self.configured:
            return
        endpoints = await self.endpoints()
        secret = self.settings.oidc_client_secret
        async with httpx.AsyncClient(timeout=self.settings.api_timeout_seconds) as client:
            await client.post(endpoints.end_session, data={
                "client_id": self.settings.oidc_client_id,
                "client_secret": secret.get_secret_value() if secret else "",
                "refresh_token": session.refresh_token,
            })


def _display_name(claims: dict[str, Any]) -> str:
    """Chinese names family name first, without a space (Keycloak's `name` is "given family")."""
    family, given = str(claims.get("family_name") or ""), str(claims.get("given_name") or "")
    if family and given and any("\u3400" <= c <= "\u9fff" for c in family + given):
        return family + given
    return str(claims.get("name") or claims.get("preferred_username") or "")
