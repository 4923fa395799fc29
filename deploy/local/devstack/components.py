"""The real infrastructure of the local stack: Kafka (KRaft), FerretDB, Prometheus, Keycloak.

Each `ensure_*` installs what is missing (Kafka's jars with Maven from Maven Central, FerretDB built
with Go from the Go module proxy, Prometheus from Debian's packages) and caches the result, showing
progress while it works. Each `*_process` describes how to run the component for a profile.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from devstack.layout import CACHE_DIR, KEYCLOAK_REALM, REPO_ROOT, SERVICES, Profile
from devstack.processes import ManagedProcess, http_ok, port_open

KAFKA_VERSION = "4.1.1"
LOCAL_DEPLOY = REPO_ROOT / "deploy" / "local"
PROMETHEUS_RULE = REPO_ROOT / "deploy" / "k8s" / "base" / "monitoring" / "prometheusrule.yaml"

console = Console(stderr=True)


def _run_with_progress(title: str, argv: Sequence[str], cwd: Path | None = None,
                       env: dict[str, str] | None = None) -> None:
    """Run a long install step, showing its latest output line under a spinner."""
    with console.status(f"[bold]{title}[/]") as status:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            line = line.rstrip()
            if line:
                tail = [*tail[-30:], line]
                status.update(f"[bold]{title}[/]  [dim]{line[:110]}[/]")
        if proc.wait() != 0:
            raise SystemExit(f"{title} failed (exit {proc.returncode}):\n" + "\n".join(tail))
    console.print(f"[green]✓[/] {title}")


# --- Kafka -------------------------------------------------------------------------------------

def kafka_lib_dir() -> Path:
    """Named by a hash of the pom, so changing a pinned jar resolves a fresh set."""
    pom_hash = hashlib.sha256((LOCAL_DEPLOY / "kafka" / "pom.xml").read_bytes()).hexdigest()[:12]
    return CACHE_DIR / f"kafka-{KAFKA_VERSION}-{pom_hash}" / "lib"


def ensure_kafka() -> Path:
    lib = kafka_lib_dir()
    marker = lib / ".complete"
    if marker.exists():
        return lib
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise SystemExit("Kafka needs Java 17 and Maven on PATH (Debian: openjdk-17-jre-headless maven)")
    lib.mkdir(parents=True, exist_ok=True)
    _run_with_progress(
        f"Resolving Apache Kafka {KAFKA_VERSION} from Maven Central",
        ["mvn", "-B", "--no-transfer-progress", "-f", str(LOCAL_DEPLOY / "kafka" / "pom.xml"),
         "dependency:copy-dependencies", f"-DoutputDirectory={lib}", "-DincludeScope=runtime"],
    )
    marker.touch()
    return lib


def _kafka_classpath(lib: Path) -> str:
    jars = sorted(p for p in lib.glob("*.jar") if not p.name.startswith("jmx_prometheus_javaagent"))
    return os.pathsep.join(str(j) for j in jars)


def _write_kafka_config(profile: Profile) -> Path:
    ports = profile.ports
    conf_dir = profile.data_dir / "kafka-conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    data = profile.data_dir / "kafka-data"
    (conf_dir / "server.properties").write_text(
        "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{ports.kafka_controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{ports.kafka},CONTROLLER://127.0.0.1:{ports.kafka_controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{ports.kafka}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data}",
            # Topics are declared in code and created by the services; a typo must not create one.
            "auto.create.topics.enable=false",
            "num.partitions=3",
            # A single node: the internal topics cannot have more than one replica.
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=10",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=5",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "default.replication.factor=1",
            "min.insync.replicas=1",
            "group.initial.rebalance.delay.ms=0",
            "log.retention.hours=168",
            "",
        ])
    )
    (conf_dir / "log4j2.properties").write_text(
        "\n".join([
            "status = warn",
            "appender.out.type = Console",
            "appender.out.name = out",
            "appender.out.layout.type = PatternLayout",
            "appender.out.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = WARN",
            "rootLogger.appenderRef.out.ref = out",
            "logger.server.name = kafka.server.KafkaRaftServer",
            "logger.server.level = INFO",
            "",
        ])
    )
    (conf_dir / "jmx-exporter.yaml").write_text("lowercaseOutputName: true\nrules:\n  - pattern: '.*'\n")
    return conf_dir


def _format_kafka_storage(profile: Profile, lib: Path, conf_dir: Path) -> None:
    data = profile.data_dir / "kafka-data"
    if (data / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    subprocess.run(
        ["java", "-cp", _kafka_classpath(lib),
         f"-Dlog4j2.configurationFile={conf_dir / 'log4j2.properties'}",
         "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(conf_dir / "server.properties")],
        check=True, stdout=subprocess.DEVNULL,
    )


def kafka_process(profile: Profile) -> ManagedProcess:
    lib = ensure_kafka()
    conf_dir = _write_kafka_config(profile)
    _format_kafka_storage(profile, lib, conf_dir)
    agent = next(lib.glob("jmx_prometheus_javaagent-*.jar"))
    return ManagedProcess(
        name="kafka",
        argv=[
            "java", "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={conf_dir / 'log4j2.properties'}",
            f"-javaagent:{agent}=127.0.0.1:{profile.ports.kafka_metrics}:{conf_dir / 'jmx-exporter.yaml'}",
            "-cp", _kafka_classpath(lib), "kafka.Kafka", str(conf_dir / "server.properties"),
        ],
        pid_dir=profile.pid_dir, log_dir=profile.log_dir,
        health=lambda: port_open(profile.ports.kafka),
    )


# --- FerretDB ----------------------------------------------------------------------------------

# How the FerretDB program is built with Go; its Go tests (tests/unit/test_ferretdb_program.py) run with
# the same environment and flags, so they reuse the build's cache. cgo is on: SQLite is compiled from C
# (deploy/local/ferretdb/sqlitecgo, in place of FerretDB's modernc.org/sqlite), with the machine's gcc.
FERRETDB_GO_ENV = {"CGO_ENABLED": "1", "GOFLAGS": "-buildvcs=false"}
# The local module that stands in for modernc.org/sqlite (deploy/local/ferretdb/go.mod's replace).
FERRETDB_SQLITE_MODULE = "sqlitecgo"
FERRETDB_GO_FLAGS = ("-trimpath",)


# Packages of FerretDB replaced at build time by our own versions (same API), each a folder under
# deploy/local/ferretdb/overlay that mirrors FerretDB's module: `resource` (its leak detector, which
# records a stack for every iterator and transaction) does nothing; `fsql` formats a statement's debug
# log only when debug records are written and keeps the statements that read and write documents
# prepared (README, "FerretDB 1.x facts"). `FERRETDB_OVERLAYS` picks which (comma-separated names, or
# `none` for FerretDB's files as published, still on our C SQLite driver), to compare; all by default
# (README, "Twenty-sixth session" and "Twenty-seventh session").
FERRETDB_OVERLAYS_ENV = "FERRETDB_OVERLAYS"
# A FerretDB program built before (another go.mod, an older commit's), run instead of building one: to
# compare builds through the whole stack, one run with it and one without, side by side.
FERRETDB_PROGRAM_ENV = "FERRETDB_PROGRAM"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_OVERLAY_DIR = LOCAL_DEPLOY / "ferretdb" / "overlay"


def ferretdb_overlays() -> dict[str, list[Path]]:
    """Every overlay package by its name (its folder's), with its files."""
    found: dict[str, list[Path]] = {}
    for path in sorted(FERRETDB_OVERLAY_DIR.rglob("*.go")):
        found.setdefault(path.parent.name, []).append(path)
    return found


def chosen_overlays() -> dict[str, list[Path]]:
    overlays = ferretdb_overlays()
    asked = os.environ.get(FERRETDB_OVERLAYS_ENV, "").strip()
    if not asked:
        return overlays
    if asked == "none":
        return {}
    names = [name.strip() for name in asked.split(",") if name.strip()]
    unknown = sorted(set(names) - set(overlays))
    if unknown:
        raise SystemExit(f"{FERRETDB_OVERLAYS_ENV}: no overlay named {', '.join(unknown)} "
                         f"(there are {', '.join(overlays)}; or `none`)")
    return {name: overlays[name] for name in names}


def ensure_ferretdb() -> Path:
    """Build the project's FerretDB program; the binary is named by a hash of its sources, of the
    overlays put in and of how it is built."""
    given = os.environ.get(FERRETDB_PROGRAM_ENV)
    if given:
        if not Path(given).is_file():
            raise SystemExit(f"{FERRETDB_PROGRAM_ENV}={given}: no such program")
        return Path(given)
    src = LOCAL_DEPLOY / "ferretdb"
    overlays = chosen_overlays()
    program = [src / "go.mod", src / "go.sum", *src.glob("*.go"),
               *sorted((src / FERRETDB_SQLITE_MODULE).rglob("*.go")), src / FERRETDB_SQLITE_MODULE / "go.mod"]
    replacing = [path for files in overlays.values() for path in files]
    digest = hashlib.sha256(f"overlays {','.join(sorted(overlays))}".encode())
    for path in sorted([*program, *replacing]):
        digest.update(str(path.relative_to(src)).encode() + path.read_bytes())
    binary = CACHE_DIR / "bin" / f"ferretdb-{digest.hexdigest()[:12]}"
    if binary.exists():
        return binary
    if shutil.which("go") is None:
        raise SystemExit("FerretDB is built with Go; put `go` (1.24 or newer, as its go.mod says) on PATH")
    if shutil.which(os.environ.get("CC", "gcc")) is None:
        raise SystemExit("FerretDB's SQLite is compiled from C through cgo; put a C compiler (gcc, or $CC) on PATH")
    binary.parent.mkdir(parents=True, exist_ok=True)
    title = "Building FerretDB 1.24 (SQLite backend) with Go"
    if not overlays:
        _run_with_progress(title, ["go", "build", "-v", *FERRETDB_GO_FLAGS, "-o", str(binary), "."],
                           cwd=src, env=FERRETDB_GO_ENV)
        return binary
    # Go does not let `-overlay` replace a file of the module cache, so the program is built from a copy
    # with its modules vendored (`go mod vendor` copies them from the module cache, downloading what is
    # missing), where our files are put in place of FerretDB's.
    with tempfile.TemporaryDirectory(prefix="ferretdb-build-", dir=CACHE_DIR) as workdir:
        build = Path(workdir)
        for path in program:
            copied = build / path.relative_to(src)
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copied)
        _run_with_progress("Vendoring FerretDB's modules for its build", ["go", "mod", "vendor"], cwd=build,
                           env=FERRETDB_GO_ENV)
        for path in replacing:
            replaced = build / "vendor" / FERRETDB_MODULE / path.relative_to(FERRETDB_OVERLAY_DIR)
            if not replaced.is_file():
                # Each overlay file replaces one of FerretDB 1.24's: a new FerretDB needs them reviewed.
                raise SystemExit(f"{replaced.relative_to(build)} is missing: {path} fits FerretDB 1.24")
            shutil.copyfile(path, replaced)
        _run_with_progress(title, ["go", "build", "-v", "-mod=vendor", *FERRETDB_GO_FLAGS, "-o", str(binary), "."],
                           cwd=build, env=FERRETDB_GO_ENV)
    return binary


# SQLite's `synchronous` for the local store (deploy/local/ferretdb/main.go): `normal` by default (a commit
# survives a crash of FerretDB, as MongoDB's default write concern promises), `full` to also survive a crash
# of the machine, at the cost of an fsync per commit (README, "Store durability").
FERRETDB_SYNCHRONOUS_ENV = "FERRETDB_SYNCHRONOUS"
# How a writer waits for SQLite's write lock (deploy/local/ferretdb/busywait.go): `poll` by default (tries
# after pauses of 20-200 us asked for, about 1 ms in practice), `sqlite` for SQLite's own sleeps of 1 to
# 100 ms, to compare (README, "Eighteenth session").
FERRETDB_BUSY_WAIT_ENV = "FERRETDB_BUSY_WAIT"


def ferretdb_process(profile: Profile) -> ManagedProcess:
    binary = ensure_ferretdb()
    synchronous = os.environ.get(FERRETDB_SYNCHRONOUS_ENV, "normal")
    busy_wait = os.environ.get(FERRETDB_BUSY_WAIT_ENV, "poll")
    if busy_wait not in ("poll", "sqlite"):
        raise SystemExit(f"{FERRETDB_BUSY_WAIT_ENV} must be poll or sqlite, not {busy_wait!r}")
    if synchronous not in ("normal", "full"):
        raise SystemExit(f"{FERRETDB_SYNCHRONOUS_ENV} must be normal or full, not {synchronous!r}")
    return ManagedProcess(
        name="ferretdb",
        argv=[str(binary), "-listen", f"127.0.0.1:{profile.ports.ferretdb}",
              "-metrics-listen", f"127.0.0.1:{profile.ports.ferretdb_metrics}",
              "-data-dir", str(profile.data_dir / "ferretdb-data"), "-synchronous", synchronous,
              "-busy-wait", busy_wait],
        pid_dir=profile.pid_dir, log_dir=profile.log_dir,
        health=lambda: port_open(profile.ports.ferretdb),
    )


def roles_of(service: str) -> tuple[str, ...]:
    """Every service has an API; a worker only once it consumes events (see servicekit.cli)."""
    definition = importlib.import_module(f"{service}.definition")
    has_worker = any(getattr(v, "handlers", None) is not None and v.handlers.topics
                     for v in vars(definition).values() if type(v).__name__ == "ServiceDefinition")
    return ("api", "worker") if has_worker else ("api",)


# --- Prometheus --------------------------------------------------------------------------------

def ensure_prometheus() -> Path:
    found = shutil.which("prometheus")
    if found is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise SystemExit("Prometheus is missing: install Debian's package (apt-get install prometheus)")
        _run_with_progress("Installing Prometheus from Debian's packages", ["apt-get", "update", "-q"])
        _run_with_progress(
            "Installing Prometheus from Debian's packages",
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"],
            env={"DEBIAN_FRONTEND": "noninteractive"},
        )
        found = shutil.which("prometheus")
        if found is None:
            raise SystemExit("apt-get installed prometheus but it is not on PATH")
    return Path(found)


def scrape_targets(profile: Profile) -> dict[str, list[str]]:
    """Every process of the local stack that serves Prometheus metrics, by job name."""
    ports = profile.ports
    targets: dict[str, list[str]] = {
        "prometheus": [f"127.0.0.1:{ports.prometheus}"],
        "kafka": [f"127.0.0.1:{ports.kafka_metrics}"],
        "ferretdb": [f"127.0.0.1:{ports.ferretdb_metrics}"],
    }
    for service in SERVICES:
        targets[f"{service}-api"] = [f"127.0.0.1:{ports.api(service)}"]
        if "worker" in roles_of(service):
            targets[f"{service}-worker"] = [f"127.0.0.1:{ports.worker(service)}"]
    return targets


def write_prometheus_config(profile: Profile) -> Path:
    conf_dir = profile.data_dir / "prometheus-conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    # The alert rules are the cluster's PrometheusRule, so local and cluster alerts never drift apart.
    rule = yaml.safe_load(PROMETHEUS_RULE.read_text())
    rules_file = conf_dir / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    lines = ["# Generated by devstack for the local stack; edits are overwritten.",
             "global:", "  scrape_interval: 5s", "  evaluation_interval: 5s", "rule_files:",
             f"  - {rules_file}",
             "scrape_configs:"]
    for job, hosts in scrape_targets(profile).items():
        lines += [f"  - job_name: {job}", "    static_configs:", "      - targets: [" +
                  ", ".join(f"'{h}'" for h in hosts) + "]"]
    config = conf_dir / "prometheus.yml"
    config.write_text("\n".join(lines) + "\n")
    return config


def prometheus_process(profile: Profile) -> ManagedProcess:
    binary = ensure_prometheus()
    config = write_prometheus_config(profile)
    return ManagedProcess(
        name="prometheus",
        argv=[str(binary), f"--config.file={config}",
              f"--storage.tsdb.path={profile.data_dir / 'prometheus-data'}",
              f"--web.listen-address=127.0.0.1:{profile.ports.prometheus}",
              "--storage.tsdb.retention.time=2d"],
        pid_dir=profile.pid_dir, log_dir=profile.log_dir,
        health=http_ok(f"http://127.0.0.1:{profile.ports.prometheus}/-/ready"),
    )


# --- The services --------------------------------------------------------------------------------

def service_env(profile: Profile, service: str, **overrides: str) -> dict[str, str]:
    """Environment for one service's processes on this profile (settings prefix = service name)."""
    prefix = service.upper() + "_"
    env = {
        f"{prefix}MONGO_URL": profile.mongo_url,
        f"{prefix}MONGO_DB": f"{service}_{profile.name}",
        f"{prefix}KAFKA_BOOTSTRAP": profile.kafka_bootstrap,
        f"{prefix}HTTP_PORT": str(profile.ports.api(service)),
        f"{prefix}WORKER_PORT": str(profile.ports.worker(service)),
        f"{prefix}JWT_SECRET": dev_jwt_secret(profile),
        # Keycloak's tokens are trusted beside the development tokens: its keys are fetched only when a
        # token names its issuer, so a stack without Keycloak (most tests) never reaches for it.
        f"{prefix}OIDC_ISSUER": profile.keycloak_issuer,
        f"{prefix}OIDC_JWKS_URL": f"{profile.keycloak_issuer}/protocol/openid-connect/certs",
    }
    env.update({f"{prefix}{k.upper()}": v for k, v in overrides.items()})
    return env


def dev_jwt_secret(profile: Profile) -> str:
    """A per-checkout development secret: generated once, kept out of git under .local/."""
    path = profile.data_dir / "dev-jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(os.urandom(48)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


def service_process(profile: Profile, service: str, role: str, *, name: str | None = None,
                    **overrides: str) -> ManagedProcess:
    """One service process. `overrides` are settings (without prefix), e.g. http_port="9000"."""
    default_port = profile.ports.api(service) if role == "api" else profile.ports.worker(service)
    port = int(overrides.get("http_port" if role == "api" else "worker_port", default_port))
    python = REPO_ROOT / ".venv" / "bin" / "python"
    return ManagedProcess(
        name=name or f"{service}-{role}",
        argv=[str(python), "-m", service, role],
        env=service_env(profile, service, **overrides),
        pid_dir=profile.pid_dir, log_dir=profile.log_dir, cwd=REPO_ROOT,
        health=http_ok(f"http://127.0.0.1:{port}/readyz"),
    )


# --- Keycloak ------------------------------------------------------------------------------------

KEYCLOAK_DIR = LOCAL_DEPLOY / "keycloak"
# The realm as the cluster imports it (no demo users), and what only the development realm adds.
KEYCLOAK_REALM_FILE = KEYCLOAK_DIR / "realm-ipo.json"
KEYCLOAK_DEV_ADDITIONS = KEYCLOAK_DIR / "realm-ipo-dev-additions.json"
# The public client of the development realm that hands out tokens for a user name and password.
KEYCLOAK_DEV_CLIENT = "ipo-dev-cli"


def keycloak_version() -> str:
    """The version the pom pins: one place to change it."""
    match = re.search(r"<keycloak\.version>([^<]+)</keycloak\.version>", (KEYCLOAK_DIR / "pom.xml").read_text())
    assert match is not None, "deploy/local/keycloak/pom.xml names no keycloak.version"
    return match.group(1)


def ensure_keycloak() -> Path:
    """Keycloak's distribution (the zip from Maven Central, unpacked once into the cache)."""
    version = keycloak_version()
    target = CACHE_DIR / f"keycloak-dist-{version}"
    dist = target / f"keycloak-{version}"
    marker = target / ".complete"
    if marker.exists():
        return dist
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise SystemExit("Keycloak needs Java 17 and Maven on PATH (Debian: openjdk-17-jre-headless maven)")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    _run_with_progress(
        f"Resolving Keycloak {version} from Maven Central",
        ["mvn", "-B", "--no-transfer-progress", "-f", str(KEYCLOAK_DIR / "pom.xml"), "dependency:unpack",
         f"-Dkeycloak.unpack.dir={target}"],
    )
    if not (dist / "bin" / "kc.sh").exists():
        raise SystemExit(f"the Keycloak zip did not unpack to {dist}")
    marker.touch()
    return dist


def _keycloak_home(profile: Profile, dist: Path) -> Path:
    """A Keycloak home of the profile's own: kc.sh finds its home from where it lies, and start-dev writes
    there (its build in lib/quarkus, data/). The 150 MB of jars stay in the cache, linked."""
    home = profile.data_dir / "keycloak-home"
    stamp = home / ".dist"
    if stamp.exists() and stamp.read_text() == str(dist):
        return home
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(dist, home, ignore=lambda d, names: ["lib"] if Path(d) == dist else [], symlinks=True)
    (home / "lib").mkdir()
    for entry in (dist / "lib").iterdir():
        if entry.name == "lib":
            (home / "lib" / "lib").symlink_to(entry, target_is_directory=True)
        elif entry.is_dir():
            shutil.copytree(entry, home / "lib" / entry.name)
        else:
            shutil.copy2(entry, home / "lib" / entry.name)
    stamp.write_text(str(dist))
    return home


def development_realm(extra_clients: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The realm of the repo plus the demo users and the token client of development (and a test's
    own clients)."""
    realm: dict[str, Any] = json.loads(KEYCLOAK_REALM_FILE.read_text())
    additions = json.loads(KEYCLOAK_DEV_ADDITIONS.read_text())
    realm["clients"] = [*realm["clients"], *additions["clients"], *extra_clients]
    realm["users"] = [*realm.get("users", []), *additions["users"]]
    return realm


def demo_users() -> list[dict[str, str]]:
    """User name, password, role and organisation of each demo user of the development realm."""
    users = json.loads(KEYCLOAK_DEV_ADDITIONS.read_text())["users"]
    return [{"username": u["username"], "password": u["credentials"][0]["value"],
             "role": next(r for r in u["realmRoles"] if not r.startswith("default-")),
             "org": u.get("attributes", {}).get("org", [""])[0]} for u in users]


def _profile_secret(profile: Profile, name: str) -> str:
    path = profile.data_dir / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))
        path.chmod(0o600)
    return path.read_text().strip()


def portal_client_secret(profile: Profile) -> str:
    """The portal client's secret in this profile's realm: generated once, kept out of git."""
    return _profile_secret(profile, "keycloak-portal-secret")


def machine_client_secret(profile: Profile) -> str:
    return _profile_secret(profile, "keycloak-machine-secret")


def keycloak_process(profile: Profile, *, extra_clients: Sequence[dict[str, Any]] = (),
                     extra_realms: Sequence[dict[str, Any]] = ()) -> ManagedProcess:
    """Keycloak in development mode (in-memory database, so every start imports the realm afresh)."""
    dist = ensure_keycloak()
    home = _keycloak_home(profile, dist)
    imports = home / "data" / "import"
    shutil.rmtree(imports, ignore_errors=True)
    imports.mkdir(parents=True)
    for realm in (development_realm(extra_clients), *extra_realms):
        (imports / f"realm-{realm['realm']}.json").write_text(json.dumps(realm, ensure_ascii=False, indent=1))
    ports = profile.ports
    return ManagedProcess(
        name="keycloak",
        argv=[str(home / "bin" / "kc.sh"), "start-dev", "--import-realm", "--db=dev-mem",
              "--http-host=127.0.0.1", f"--http-port={ports.keycloak}",
              f"--http-management-port={ports.keycloak_management}", f"--hostname={profile.keycloak_url}",
              "--health-enabled=true"],
        env={
            # The realm file's placeholders (Keycloak substitutes them on import, as the operator's
            # KeycloakRealmImport does in the cluster).
            "IPO_PORTAL_URL": profile.portal_url,
            "IPO_PORTAL_CLIENT_SECRET": portal_client_secret(profile),
            "IPO_MACHINE_CLIENT_SECRET": machine_client_secret(profile),
            "JAVA_OPTS_KC_HEAP": "-Xms128m -Xmx640m",
            # A master-realm administrator, for looking around in a local stack only.
            "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
            "KC_BOOTSTRAP_ADMIN_PASSWORD": _profile_secret(profile, "keycloak-admin-password"),
        },
        pid_dir=profile.pid_dir, log_dir=profile.log_dir,
        # Ready once the realm is imported and serves its discovery document.
        health=http_ok(f"{profile.keycloak_issuer}/.well-known/openid-configuration"),
    )


def keycloak_token(profile: Profile, username: str, password: str | None = None,
                   client_id: str = KEYCLOAK_DEV_CLIENT, realm: str = KEYCLOAK_REALM) -> str:
    """A real access token for a user of the development realm (password grant of its token client)."""
    if password is None:
        password = next((u["password"] for u in demo_users() if u["username"] == username), "")
    body = urllib.parse.urlencode({"grant_type": "password", "client_id": client_id, "username": username,
                                   "password": password, "scope": "openid"}).encode()
    request = urllib.request.Request(f"{profile.keycloak_url}/realms/{realm}/protocol/openid-connect/token",
                                     data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["access_token"])
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"Keycloak refused a token for {username}: {exc.code} {exc.read()[:300]!r}") from exc


# --- The portal ----------------------------------------------------------------------------------

PORTAL_DIR = REPO_ROOT / "services" / "portal"
# What the pages load, from the npm packages of services/portal/package-lock.json.
PORTAL_ASSETS = {
    "htmx.min.js": Path("node_modules/htmx.org/dist/htmx.min.js"),
    "pico.min.css": Path("node_modules/@picocss/pico/css/pico.min.css"),
}


def ensure_portal_assets() -> Path:
    """htmx and Pico CSS from npm (exactly the lock file's versions), copied into the portal's static
    directory; nothing of them is kept in git."""
    vendor = PORTAL_DIR / "portal" / "static" / "vendor"
    lock = PORTAL_DIR / "package-lock.json"
    stamp = vendor / ".lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and all((vendor / n).exists() for n in PORTAL_ASSETS):
        return vendor
    if shutil.which("npm") is None:
        raise SystemExit("The portal's assets come from npm: install Node.js and npm (Debian: nodejs npm)")
    _run_with_progress("Installing the portal's front-end packages with npm",
                       ["npm", "ci", "--no-audit", "--no-fund"], cwd=PORTAL_DIR)
    vendor.mkdir(parents=True, exist_ok=True)
    for name, source in PORTAL_ASSETS.items():
        shutil.copy2(PORTAL_DIR / source, vendor / name)
    stamp.write_text(digest)
    return vendor


def portal_env(profile: Profile, **overrides: str) -> dict[str, str]:
    env = {
        "PORTAL_HTTP_PORT": str(profile.ports.portal),
        "PORTAL_PUBLIC_URL": profile.portal_url,
        "PORTAL_ENVIRONMENT": "dev",
        "PORTAL_SECURE_COOKIES": "false",  # plain http on 127.0.0.1
        "PORTAL_JWT_SECRET": dev_jwt_secret(profile),
        "PORTAL_OIDC_ISSUER": profile.keycloak_issuer,
        "PORTAL_OIDC_JWKS_URL": f"{profile.keycloak_issuer}/protocol/openid-connect/certs",
        "PORTAL_OIDC_CLIENT_SECRET": portal_client_secret(profile),
        "PORTAL_SESSION_KEY": portal_session_key(profile),
    }
    for service in SERVICES:
        env[f"PORTAL_{service.upper()}_URL"] = f"http://127.0.0.1:{profile.ports.api(service)}"
    env.update({f"PORTAL_{k.upper()}": v for k, v in overrides.items()})
    return env


def portal_session_key(profile: Profile) -> str:
    """The Fernet key of the portal's session cookie in this profile (urlsafe base64 of 32 bytes)."""
    path = profile.data_dir / "portal-session-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


def portal_process(profile: Profile, **overrides: str) -> ManagedProcess:
    ensure_portal_assets()
    python = REPO_ROOT / ".venv" / "bin" / "python"
    return ManagedProcess(
        name="portal", argv=[str(python), "-m", "portal"], env=portal_env(profile, **overrides),
        pid_dir=profile.pid_dir, log_dir=profile.log_dir, cwd=REPO_ROOT,
        health=http_ok(f"{profile.portal_url}/readyz"),
    )


# --- The browser of the portal's browser tests -----------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


def ensure_browser() -> Path:
    """Debian's Chromium (Playwright drives it; its own browser download cannot work here) and the CJK
    fonts, without which Chinese renders as empty boxes in screenshots."""
    fonts = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
    if CHROMIUM.exists() and fonts.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit("The browser tests need Debian's chromium and fonts-noto-cjk (apt-get install chromium "
                         "fonts-noto-cjk)")
    _run_with_progress("Updating Debian's package lists", ["apt-get", "update", "-q"])
    _run_with_progress("Installing Chromium and CJK fonts from Debian's packages",
                       ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "fonts-noto-cjk"],
                       env={"DEBIAN_FRONTEND": "noninteractive"})
    return CHROMIUM
