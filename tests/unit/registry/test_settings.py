"""The identity-hash key: required in prod, a fixed development key elsewhere."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from registry.settings import RegistrySettings


def test_prod_refuses_to_start_without_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_IDENTITY_HASH_KEY", raising=False)
    monkeypatch.setenv("REGISTRY_ENVIRONMENT", "prod")
    with pytest.raises(ValidationError, match="REGISTRY_IDENTITY_HASH_KEY is not set"):
        RegistrySettings()


def test_key_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_ENVIRONMENT", "prod")
    monkeypatch.setenv("REGISTRY_IDENTITY_HASH_KEY", "a-long-enough-production-key")
    assert RegistrySettings().identity_key() == b"a-long-enough-production-key"
    monkeypatch.setenv("REGISTRY_IDENTITY_HASH_KEY", "short")
    with pytest.raises(ValidationError, match="at least 16 characters"):
        RegistrySettings()


def test_dev_derives_a_fixed_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_IDENTITY_HASH_KEY", raising=False)
    monkeypatch.setenv("REGISTRY_ENVIRONMENT", "dev")
    key = RegistrySettings().identity_key()
    assert len(key) == 32 and key == RegistrySettings().identity_key()
