from __future__ import annotations

from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings


class TrainingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRAINING_", extra="ignore", frozen=True)

    service_name: str = "training"
    # The API's background tasks (training/background.py): how soon a removed talent's open enrolments
    # are cancelled, and how often the domain gauges are recomputed from the store.
    follow_up_seconds: float = 1.0
    metrics_refresh_seconds: float = 5.0
