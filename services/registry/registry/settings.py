from __future__ import annotations

import hashlib
import logging

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings

log = logging.getLogger(__name__)

# Only ever used when environment is dev or test and no key is configured: a development stack's
# hashes are then reproducible, and nobody can mistake them for production ones.
_DEV_IDENTITY_KEY_SEED = b"ipo-registry-dev-identity-hash-key (not for production)"
_warned = False


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore", frozen=True)

    service_name: str = "registry"

    # HMAC-SHA256 key for personal identity numbers (REGISTRY_IDENTITY_HASH_KEY). The registry keeps
    # only the keyed hash, to find duplicates; without the key a leaked hash cannot be brute-forced
    # over the small space of resident ID numbers. Required in prod; dev/test derive a fixed key.
    identity_hash_key: SecretStr | None = Field(default=None, description="HMAC key for identity numbers")

    # How often the API recomputes the talent and plan-target gauges from the store (also after
    # every talent change).
    targets_refresh_seconds: float = 15.0

    @model_validator(mode="after")
    def _identity_key_present(self) -> RegistrySettings:
        if self.identity_hash_key is None and self.environment == "prod":
            raise ValueError(
                "REGISTRY_IDENTITY_HASH_KEY is not set: the registry refuses to start in prod without the "
                "secret key it hashes personal identity numbers with (set it from the registry's Secret)."
            )
        if self.identity_hash_key is not None and len(self.identity_hash_key.get_secret_value()) < 16:
            raise ValueError("REGISTRY_IDENTITY_HASH_KEY must be at least 16 characters long")
        return self

    def identity_key(self) -> bytes:
        """The key identity numbers are hashed with (a fixed development key outside prod)."""
        if self.identity_hash_key is not None:
            return self.identity_hash_key.get_secret_value().encode()
        global _warned
        if not _warned:
            log.warning("REGISTRY_IDENTITY_HASH_KEY is not set: hashing identity numbers with the fixed "
                        "development key (environment=%s); never use this outside development", self.environment)
            _warned = True
        return hashlib.sha256(_DEV_IDENTITY_KEY_SEED).digest()
