"""The portal's settings (environment prefix PORTAL_). It shares the kit's defaults, of which it uses the
logging, the HTTP address and the token verification (the same rules as the APIs)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings


class PortalSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore", frozen=True)

    service_name: str = "portal"
    http_port: int = 8105

    # Where the four APIs answer (the portal calls them as the signed-in user, or anonymously).
    trading_url: str = "http://127.0.0.1:8102"
    registry_url: str = "http://127.0.0.1:8101"
    training_url: str = "http://127.0.0.1:8103"
    publicity_url: str = "http://127.0.0.1:8104"
    api_timeout_seconds: float = 10.0

    # The portal's own address as the browser sees it (redirect URIs are built from it).
    public_url: str = "http://127.0.0.1:8105"

    # Keycloak: the realm's issuer URL (its discovery document lives under it) and the portal's client.
    oidc_client_id: str = "ipo-portal"
    oidc_client_secret: SecretStr | None = None

    # Fernet key (urlsafe base64 of 32 bytes) encrypting the session cookie; required outside dev/test.
    session_key: SecretStr | None = Field(default=None, description="Fernet key of the session cookie")
    session_max_age_seconds: int = 8 * 3600
    # Only false for the local stack on plain http.
    secure_cookies: bool = True
