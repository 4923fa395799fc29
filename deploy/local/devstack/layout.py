"""Where the local stack keeps things, and which ports each profile uses.

Two profiles exist so that `make run` and `make test` can run side by side on one machine: each has
its own ports and its own data directory under `.local/<profile>/`. Downloads and builds are shared
in `.local/cache/` because they do not change between profiles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
LOCAL_DIR = Path(os.environ.get("IPO_LOCAL_DIR", REPO_ROOT / ".local"))
CACHE_DIR = Path(os.environ.get("IPO_CACHE_DIR", LOCAL_DIR / "cache"))

SERVICES: tuple[str, ...] = ("registry", "trading", "training", "publicity")
KEYCLOAK_REALM = "ipo"


@dataclass(frozen=True)
class Ports:
    kafka: int
    kafka_controller: int
    kafka_metrics: int
    ferretdb: int
    ferretdb_metrics: int
    prometheus: int
    # api port of service i is api_base + i, worker port is worker_base + i
    api_base: int
    worker_base: int

    def api(self, service: str) -> int:
        return self.api_base + SERVICES.index(service)

    def worker(self, service: str) -> int:
        return self.worker_base + SERVICES.index(service)

    # Keycloak and the portal derive from the bases too, so every profile gets its own without a new
    # column in the table below.
    @property
    def keycloak(self) -> int:
        return self.prometheus + 100

    @property
    def keycloak_management(self) -> int:
        return self.prometheus + 101

    @property
    def portal(self) -> int:
        return self.api_base + len(SERVICES)  # the port after the four APIs (tests use +50.. for spare APIs)


def _ports(kafka: int, ferretdb: int, prometheus: int, api_base: int) -> Ports:
    """A profile's ports from a few bases: neighbours of a component share its base."""
    return Ports(kafka=kafka, kafka_controller=kafka + 1, kafka_metrics=kafka + 2, ferretdb=ferretdb,
                 ferretdb_metrics=ferretdb + 1, prometheus=prometheus, api_base=api_base,
                 worker_base=api_base + 100)


# Every listening port stays below 32768, outside Linux's ephemeral range (32768-60999): a port in
# that range can be held by some client's outgoing connection (even in TIME-WAIT), and a server
# started there then fails with "address already in use".
PROFILES: dict[str, Ports] = {
    "run": _ports(kafka=19092, ferretdb=27117, prometheus=19090, api_base=8101),
    "test": _ports(kafka=29092, ferretdb=27217, prometheus=29090, api_base=8301),
    # Benchmarks get their own stack, so they never measure (or disturb) a test run or `make run`.
    "bench": _ports(kafka=26092, ferretdb=26217, prometheus=26090, api_base=8501),
    # A second benchmark stack, so a long benchmark can run beside another one (--profile bench2).
    "bench2": _ports(kafka=25092, ferretdb=25217, prometheus=25090, api_base=9501),
    # A third, for a benchmark run beside two others on a shared machine (--profile bench3).
    "bench3": _ports(kafka=20092, ferretdb=20217, prometheus=20090, api_base=9701),
    # Spare test stacks, so two engineers (or agents) on one machine can run the stack tests at the same
    # time: IPO_TEST_PROFILE=test2 make test.
    "test2": _ports(kafka=21092, ferretdb=21217, prometheus=21090, api_base=8701),
    "test3": _ports(kafka=22092, ferretdb=22217, prometheus=22090, api_base=8901),
    "test4": _ports(kafka=23092, ferretdb=23217, prometheus=23090, api_base=9101),
    "test5": _ports(kafka=24092, ferretdb=24217, prometheus=24090, api_base=9301),
}


@dataclass(frozen=True)
class Profile:
    name: str
    ports: Ports

    @property
    def data_dir(self) -> Path:
        return LOCAL_DIR / self.name

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def pid_dir(self) -> Path:
        return self.data_dir / "pids"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports.kafka}"

    @property
    def mongo_url(self) -> str:
        return f"mongodb://127.0.0.1:{self.ports.ferretdb}/"

    @property
    def keycloak_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.keycloak}"

    @property
    def keycloak_issuer(self) -> str:
        """The issuer of the development realm's tokens (the `iss` claim)."""
        return f"{self.keycloak_url}/realms/{KEYCLOAK_REALM}"

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.portal}"


def profile(name: str) -> Profile:
    try:
        return Profile(name, PROFILES[name])
    except KeyError:
        raise SystemExit(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}") from None
