"""Service settings: one pydantic-settings class per service, one environment prefix per service.

Secrets (the JWT key, credentials inside the Mongo URL) come only from the environment: no settings
file is read, so nothing secret can be committed by accident.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Defaults every service shares. Subclasses set `model_config` with their own env prefix."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str
    environment: Literal["dev", "test", "prod"] = "dev"
    log_level: str = "INFO"

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    worker_host: str = "127.0.0.1"
    worker_port: int = 8001
    # Where faust keeps its tables' state (`<consumer group>-data` in it). The platform declares no
    # tables, but faust still makes the directory at start, by default in the working directory: the
    # repository locally, and a read-only root in the cluster's pods, whose one writable path is /tmp.
    worker_data_dir: Path = Path(tempfile.gettempdir())
    max_request_bytes: int = Field(default=1_048_576, description="Larger request bodies get 413")

    mongo_url: SecretStr = SecretStr("mongodb://127.0.0.1:27017/")
    mongo_db: str = ""
    # Short: a store outage must turn into a quick 503, not a request hanging for 30 s.
    mongo_timeout_ms: int = 2000
    # Everything one HTTP request asks of the store must finish within this (servicekit.outcomes): each
    # command carries the time left as maxTimeMS, so the store stops what nobody waits for any more.
    # Within it PyMongo retries a read (not a write: mongo_retry_writes), so a store that is down
    # answers 503 only when the budget is spent: short, so clients hear about an outage within seconds.
    request_store_budget_seconds: float = 4.0
    # PyMongo's retryable writes, off by default. FerretDB (like any standalone server) cannot retry a
    # write, and then PyMongo 4.15 re-raises the first attempt's error from inside the retry's freshly
    # checked-out connection; its monitoring takes that for a network error on a healthy connection,
    # marks the store unknown and clears the pool again. After a store pause, every write still within
    # its budget did this as soon as the store was back, and background writes (five-minute budgets)
    # kept the pool paused for minutes (README, "Paused-store test, twenty-fifth session"). Our writes
    # are safe to retry from above (If-Match, Idempotency-Key, outcome-unknown answers). On a MongoDB
    # replica set, where the driver can retry a write exactly once, it may be turned on.
    mongo_retry_writes: bool = False
    # PyMongo's asyncio send and receive without a task per call (servicekit.mongo_wire); off runs
    # PyMongo's own, to compare. It applies to the whole process (the last client made decides).
    mongo_lean_wire: bool = True

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_topic_replicas: int = 1
    kafka_request_timeout_ms: int = 10_000

    # The outbox relay runs inside the process that writes the collection (API, or worker for what
    # its handlers write), woken by each write; a publish that fails is retried from memory. The sweep
    # is the safety net for what a crashed process left behind: it runs at start-up and then every
    # `outbox_sweep_seconds`, reading the pending markers (one per outbox not yet emptied, none when
    # idle), never the aggregates.
    outbox_relay_enabled: bool = True
    outbox_relay_notify: bool = True
    outbox_sweep_seconds: float = 30.0
    # The sweep's and recovery's reads of the markers and relay ledgers get their own budget rather
    # than a request's: after an outage the backlog they cover can be large (their cost is the
    # backlog's, not the collections').
    outbox_sweep_timeout_seconds: float = 300.0

    # Tests only: record every store command whose filter FerretDB would answer by scanning
    # (servicekit.store_audit), one JSON line each, in this directory.
    store_filter_audit_dir: str | None = None

    # How often a worker commits the offsets of the records it handled when fewer than 100 came since its
    # last commit (under load it commits every 100). A worker killed in between reads those records again,
    # which `apply_once` makes harmless. faust's own default: at 0.5 s each idle worker woke twice a
    # second more and spent about a tenth of a percent of a core more on it (measured with the idle
    # benchmark, README "Sixteenth session").
    consumer_commit_interval_seconds: float = 2.8
    consumer_max_attempts: int = 4
    consumer_backoff_initial_seconds: float = 0.2
    consumer_backoff_max_seconds: float = 5.0

    jwt_algorithm: Literal["HS256", "RS256", "ES256"] = "HS256"
    jwt_secret: SecretStr | None = Field(default=None, description="HS256 key, or the public key PEM")
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "https://auth.ipo.local"
    jwt_audience: str = "ipo-platform"
    # A second trusted issuer whose RS256 tokens are verified through its JWKS (the local Keycloak beside
    # the development HS256 tokens). A token is matched to it by its `iss` claim; the algorithm and keys
    # still come from here, never from the token. In the cluster the jwt_* settings name Keycloak alone.
    oidc_issuer: str | None = None
    oidc_jwks_url: str | None = None

    @property
    def database_name(self) -> str:
        return self.mongo_db or self.service_name

    @property
    def consumer_group(self) -> str:
        return f"{self.service_name}-worker"
