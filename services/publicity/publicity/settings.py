from __future__ import annotations

from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServiceSettings


class PublicitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PUBLICITY_", extra="ignore", frozen=True)

    service_name: str = "publicity"
    # How often the API's scheduler looks for scheduled releases that are due (it also runs at start-up,
    # so anything that fell due while the service was down is published within seconds of it coming up).
    scheduler_seconds: float = 1.0
    # How often the domain gauges (releases by state, campaign totals) are recomputed from the store.
    gauges_seconds: float = 10.0
    # An embargo must be at least this far ahead when a release is scheduled (editorial rule: 5 minutes).
    # Tests lower it to see a release published "just after" its embargo without waiting 5 minutes.
    min_embargo_seconds: float = 300.0
    # The public address of the API, for the feeds' self links and entry links.
    public_base_url: str = "http://127.0.0.1:8104"
    # Longest time a feed may be cached (never beyond the next embargo).
    feed_max_age_seconds: int = 60
    # A news draft at every N-th training completion of the year (an aggregate milestone, not one per person).
    completions_milestone_every: int = 100
