from __future__ import annotations

from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings


class TradingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRADING_", extra="ignore", frozen=True)

    service_name: str = "trading"
