"""Offline validation of the Kubernetes deployment in deploy/k8s.

Each overlay is rendered with the real kustomize binary, then:

* built-in kinds are validated with ``kubernetes-validate`` (strict: unknown fields fail);
* custom resources (Strimzi, prometheus-operator, MongoDB) are validated with ``jsonschema``
  against the schemas in ``$IPO_CRD_SCHEMAS_DIR`` (default ``<repo>/../shared/crd-schemas``),
  closed so that unknown fields fail there too;
* policy checks: probes, resources and hardened security contexts on every Deployment, a PDB,
  an HPA and a Service for every api, a worker exactly for the services in
  ``SERVICES_WITH_WORKER``, every secret setting read from the service's Secret, the Kafka
  topics, network policies, monitors and alerts, replica counts per overlay, and that every name
  a manifest refers to exists.

Which services have a worker, and which settings are secret, is read from the services' code
(their ``ServiceDefinition`` and settings class), so the manifests must follow the code.

kustomize is built once from the Go module proxy into ``$IPO_CACHE_DIR/bin``
(default ``<repo>/.local/cache/bin``) when it is missing or not the pinned version.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped,unused-ignore]
import pytest
import yaml
from devstack.components import KEYCLOAK_REALM_FILE, development_realm, roles_of
from pydantic import SecretStr
from pydantic_settings import BaseSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")

KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION = "v5.8.2"  # v5.8.3 needs Go >= 1.27
KUBERNETES_VERSION = "1.31"

SERVICES = ("registry", "trading", "training", "publicity")
# The services whose ServiceDefinition subscribes to topics (has event handlers), as the local stack
# decides it: only those have a worker process (`python -m <service> worker` exits for the others).
# Every service has an api.
SERVICES_WITH_WORKER = frozenset(service for service in SERVICES if "worker" in roles_of(service))
PROCESS_PORTS = {"api": ("http", 8000), "worker": ("metrics", 8001)}
MONITORING_NAMESPACE = "monitoring"
KAFKA_CLUSTER = "ipo-kafka"
KAFKA_BOOTSTRAP = "ipo-kafka-kafka-bootstrap:9092"
KAFKA_VERSION = "4.1.1"
# Kafka, MongoDB, DNS and Keycloak (8080: the realm's JWKS, to verify tokens).
EGRESS_PORTS = {("TCP", 9092), ("TCP", 27017), ("UDP", 53), ("TCP", 53), ("TCP", 8080)}

THIRTY_DAYS_MS = 30 * 24 * 3600 * 1000
NINETY_DAYS_MS = 90 * 24 * 3600 * 1000
# topic name -> (partitions, retention.ms)
TOPICS: dict[str, tuple[int, int]] = {
    **{f"{service}.events": (6, THIRTY_DAYS_MS) for service in SERVICES},
    **{f"{service}-worker.dlq": (3, NINETY_DAYS_MS) for service in SERVICES},
}

Manifest = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# tools and inputs


def _cache_dir() -> Path:
    configured = os.environ.get("IPO_CACHE_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    return REPO_ROOT / ".local" / "cache"


def _kustomize_version(binary: Path) -> str | None:
    if not binary.is_file():
        return None
    try:
        done = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _go_binary() -> str:
    found = shutil.which("go")
    if found:
        return found
    fallback = Path("/usr/local/go/bin/go")
    if fallback.is_file():
        return str(fallback)
    pytest.fail(
        f"kustomize {KUSTOMIZE_VERSION} is not in {_cache_dir() / 'bin'} and no `go` toolchain was "
        "found to build it: install Go (>= 1.26) or put the pinned kustomize binary there "
        "(the folder follows IPO_CACHE_DIR)."
    )


@pytest.fixture(scope="session")
def kustomize() -> Path:
    """The pinned kustomize binary, built with `go install` on first use."""
    binary = _cache_dir() / "bin" / "kustomize"
    if _kustomize_version(binary) == KUSTOMIZE_VERSION:
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".kustomize-", dir=binary.parent))
    goflags = os.environ.get("GOFLAGS", "")
    if "-buildvcs" not in goflags:
        goflags = f"{goflags} -buildvcs=false".strip()
    env = {**os.environ, "GOBIN": str(staging), "GOFLAGS": goflags, "CGO_ENABLED": "0"}
    try:
        done = subprocess.run(
            [_go_binary(), "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
            capture_output=True,
            text=True,
            env=env,
            cwd=staging,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(
                f"`go install {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}` failed "
                f"(exit {done.returncode}):\n{done.stderr[-4000:]}"
            )
        os.replace(staging / "kustomize", binary)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    installed = _kustomize_version(binary)
    assert installed == KUSTOMIZE_VERSION, f"{binary} reports {installed!r}"
    return binary


@pytest.fixture(scope="session")
def rendered(kustomize: Path) -> dict[str, list[Manifest]]:
    """`kustomize build deploy/k8s/overlays/<overlay>` for every overlay, parsed."""
    out: dict[str, list[Manifest]] = {}
    for overlay in OVERLAYS:
        done = subprocess.run(
            [str(kustomize), "build", str(K8S_DIR / "overlays" / overlay)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"kustomize build overlays/{overlay} failed:\n{done.stderr}")
        docs = [doc for doc in yaml.safe_load_all(done.stdout) if doc is not None]
        assert docs, f"overlays/{overlay} renders nothing"
        out[overlay] = docs
    return out


@pytest.fixture(scope="session")
def crd_schemas_dir() -> Path:
    configured = os.environ.get("IPO_CRD_SCHEMAS_DIR")
    folder = Path(configured) if configured else REPO_ROOT.parent / "shared" / "crd-schemas"
    if not folder.is_dir():
        pytest.fail(
            f"custom-resource schemas not found at {folder}: set IPO_CRD_SCHEMAS_DIR to the folder "
            "that holds <group>/<kind>_<version>.json (the shared/crd-schemas folder that sits "
            "beside the repository checkout)."
        )
    return folder


# ---------------------------------------------------------------------------------------------
# helpers


def _ref(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind')}/{meta.get('name')}"


def _of_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in docs if doc.get("kind") == kind]


def _named(docs: list[Manifest], kind: str, name: str) -> Manifest:
    found = [doc for doc in _of_kind(docs, kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected exactly one {kind}/{name}, found {len(found)}"
    return found[0]


def _group_version(doc: Mapping[str, Any]) -> tuple[str, str]:
    api_version = str(doc["apiVersion"])
    group, _, version = api_version.rpartition("/")
    return group, version


def _is_builtin(doc: Mapping[str, Any]) -> bool:
    group, _ = _group_version(doc)
    return group == "" or "." not in group or group.endswith(".k8s.io")


def _selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr["key"], expr["operator"], expr.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _image_repository(image: str) -> str:
    """`host:5000/team/name:tag@sha256:...` -> `host:5000/team/name`."""
    path = image.partition("@")[0]
    head, _, last = path.rpartition("/")
    return f"{head}/{last.partition(':')[0]}" if head else last.partition(":")[0]


def _pod_labels(deployment: Mapping[str, Any]) -> dict[str, str]:
    return dict(deployment["spec"]["template"]["metadata"].get("labels") or {})


def _containers(deployment: Mapping[str, Any]) -> Iterator[Manifest]:
    pod = deployment["spec"]["template"]["spec"]
    yield from pod.get("initContainers") or []
    yield from pod.get("containers") or []


def _settings_class(service: str) -> type[BaseSettings]:
    """The pydantic-settings class of `service`, from its ServiceDefinition."""
    definition = importlib.import_module(f"{service}.definition")
    factories = [
        value.settings_factory for value in vars(definition).values() if type(value).__name__ == "ServiceDefinition"
    ]
    assert len(factories) == 1, f"{service}.definition has {len(factories)} ServiceDefinitions"
    factory = factories[0]
    assert isinstance(factory, type) and issubclass(factory, BaseSettings), f"{service}: {factory!r}"
    return factory


def _secret_settings(service: str) -> dict[str, str]:
    """`<SERVICE>_<FIELD>` -> Secret key (`<field>` with dashes) for every SecretStr setting."""
    prefix = service.upper() + "_"
    out = {}
    for name, field in _settings_class(service).model_fields.items():
        annotation = field.annotation
        if annotation is SecretStr or SecretStr in typing.get_args(annotation):
            out[prefix + name.upper()] = name.replace("_", "-")
    return out


def _processes(service: str) -> tuple[str, ...]:
    """The processes a service runs: always the api, the worker only if it consumes events."""
    return ("api", "worker") if service in SERVICES_WITH_WORKER else ("api",)


def _app_deployments(docs: list[Manifest]) -> list[tuple[str, str, Manifest]]:
    """(service, process, Deployment) for every service process, failing if one is missing."""
    out = []
    for service in SERVICES:
        for process in _processes(service):
            out.append((service, process, _named(docs, "Deployment", f"{service}-{process}")))
    return out


def _worker_labels(service: str) -> dict[str, str]:
    """The pod labels a worker of `service` has (or would have, if it had one)."""
    return {
        "app.kubernetes.io/name": service,
        "app.kubernetes.io/component": "worker",
        "app.kubernetes.io/part-of": "ipo-platform",
    }


def _closed(schema: Any) -> Any:
    """A copy of a CRD schema in which every object with declared properties rejects others.

    This is what kubeconform's -strict does: a misspelt field fails instead of being ignored.
    Branches of allOf/anyOf/oneOf are left open (they only restate some of the properties),
    and so are objects marked x-kubernetes-preserve-unknown-fields. Patterns are Go (RE2)
    regexes; a leading inline flag such as ``^(?i)...`` is moved where Python accepts it.
    """
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if isinstance(schema.get("pattern"), str):
        out["pattern"] = re.sub(r"^\^(\(\?[a-zA-Z]+\))", r"\1^", schema["pattern"])
    properties = schema.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {name: _closed(sub) for name, sub in properties.items()}
        if "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(schema.get("items"), dict):
        out["items"] = _closed(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = _closed(schema["additionalProperties"])
    return out


def _config_maps(docs: list[Manifest]) -> dict[str, dict[str, str]]:
    return {doc["metadata"]["name"]: dict(doc.get("data") or {}) for doc in _of_kind(docs, "ConfigMap")}


def _container_env(container: Mapping[str, Any], docs: list[Manifest]) -> dict[str, Any]:
    """Environment of a container: envFrom ConfigMaps resolved, then `env` (which wins)."""
    config_maps = _config_maps(docs)
    env: dict[str, Any] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        assert ref is not None, f"unexpected envFrom source {source}"
        assert ref["name"] in config_maps, f"envFrom names a missing ConfigMap {ref['name']}"
        env.update(config_maps[ref["name"]])
    for item in container.get("env") or []:
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


def _normalise(expr: str) -> str:
    return re.sub(r"\s+", " ", expr).strip()


def _alert_rules(docs: list[Manifest]) -> list[Manifest]:
    rules: list[Manifest] = []
    for doc in _of_kind(docs, "PrometheusRule"):
        for group in doc["spec"]["groups"]:
            rules.extend(rule for rule in group["rules"] if "alert" in rule)
    return rules


overlays = pytest.mark.parametrize("overlay", OVERLAYS)


# ---------------------------------------------------------------------------------------------
# schema validation


@overlays
def test_builtin_kinds_are_valid(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    problems = []
    checked = 0
    for doc in rendered[overlay]:
        if not _is_builtin(doc):
            continue
        checked += 1
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except jsonschema.ValidationError as error:
            path = ".".join(str(part) for part in error.absolute_path)
            problems.append(f"{_ref(doc)}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{_ref(doc)}: {error.message}")
    assert checked > 0
    assert not problems, f"invalid for Kubernetes {KUBERNETES_VERSION}:\n" + "\n".join(problems)


@overlays
def test_custom_resources_are_valid(rendered: dict[str, list[Manifest]], overlay: str, crd_schemas_dir: Path) -> None:
    problems = []
    kinds = set()
    validators: dict[Path, jsonschema.protocols.Validator] = {}
    name_pattern = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    for doc in rendered[overlay]:
        if _is_builtin(doc):
            continue
        group, version = _group_version(doc)
        schema_file = crd_schemas_dir / group / f"{doc['kind'].lower()}_{version}.json"
        if not schema_file.is_file():
            problems.append(f"{_ref(doc)}: no schema {schema_file} for {doc['apiVersion']}")
            continue
        if schema_file not in validators:
            loaded = yaml.safe_load(schema_file.read_text(encoding="utf-8"))
            # Some published schemas (the Keycloak operator's) describe only spec and status; every
            # custom resource has these three as well.
            for key, part in (("apiVersion", {"type": "string"}), ("kind", {"type": "string"}),
                              ("metadata", {"type": "object", "x-kubernetes-preserve-unknown-fields": True})):
                loaded.setdefault("properties", {}).setdefault(key, part)
            schema = _closed(loaded)
            validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
            validator_class.check_schema(schema)
            validators[schema_file] = validator_class(schema)
        kinds.add(doc["kind"])
        for error in validators[schema_file].iter_errors(doc):
            path = ".".join(str(part) for part in error.absolute_path)
            problems.append(f"{_ref(doc)}: {path}: {error.message}")
        meta = doc.get("metadata") or {}
        if not name_pattern.match(str(meta.get("name", ""))):
            problems.append(f"{_ref(doc)}: metadata.name is not a DNS subdomain")
        for key, value in (meta.get("labels") or {}).items():
            if not isinstance(value, str):
                problems.append(f"{_ref(doc)}: label {key} is not a string")
    expected = {"Kafka", "KafkaNodePool", "KafkaTopic", "MongoDBCommunity"}
    expected |= {"ServiceMonitor", "PodMonitor", "PrometheusRule", "Keycloak", "KeycloakRealmImport"}
    assert expected <= kinds, f"missing custom resources: {sorted(expected - kinds)}"
    assert not problems, "invalid custom resources:\n" + "\n".join(problems)


def test_closed_schema_rejects_unknown_fields(crd_schemas_dir: Path) -> None:
    """The strict CRD check really catches a misspelt field (guards _closed itself)."""
    schema_file = crd_schemas_dir / "kafka.strimzi.io" / "kafkatopic_v1.json"
    schema = _closed(yaml.safe_load(schema_file.read_text(encoding="utf-8")))
    topic = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": "t"},
        "spec": {"partitions": 1, "replica": 1},
    }
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(topic))
    assert any("replica" in error.message for error in errors), errors


# ---------------------------------------------------------------------------------------------
# workloads


@overlays
def test_deployments_are_hardened(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    problems = []
    deployments = _of_kind(rendered[overlay], "Deployment")
    assert deployments
    for deployment in deployments:
        where = _ref(deployment)
        spec = deployment["spec"]
        if not _selects(spec.get("selector"), _pod_labels(deployment)):
            problems.append(f"{where}: selector does not match the pod template labels")
        pod = spec["template"]["spec"]
        pod_ctx = pod.get("securityContext") or {}
        for key, want in (("runAsNonRoot", True), ("runAsUser", 10001)):
            if pod_ctx.get(key) != want:
                problems.append(f"{where}: pod securityContext.{key} is not {want}")
        if (pod_ctx.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: pod seccompProfile is not RuntimeDefault")
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: the service-account token is mounted")
        tmp_volumes = {volume["name"] for volume in pod.get("volumes") or [] if "emptyDir" in volume}
        for container in _containers(deployment):
            at = f"{where} container {container['name']}"
            ctx = container.get("securityContext") or {}
            wanted = {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
            }
            for key, want in wanted.items():
                if ctx.get(key) != want:
                    problems.append(f"{at}: securityContext.{key} is not {want}")
            if (ctx.get("capabilities") or {}).get("drop") != ["ALL"]:
                problems.append(f"{at}: capabilities do not drop ALL")
            if (ctx.get("capabilities") or {}).get("add"):
                problems.append(f"{at}: adds capabilities")
            if (ctx.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
                problems.append(f"{at}: seccompProfile is not RuntimeDefault")
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts") or []}
            if mounts.get("/tmp") not in tmp_volumes:
                problems.append(f"{at}: /tmp is not an emptyDir")
            resources = container.get("resources") or {}
            for section in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (resources.get(section) or {}):
                        problems.append(f"{at}: no {section}.{resource}")
            image = str(container.get("image", ""))
            tag = image.partition("@")[0].rpartition("/")[2].partition(":")[2]
            if "@sha256:" not in image and tag in ("", "latest"):
                problems.append(f"{at}: image {image!r} has no pinned tag or digest")
            port_names = {port.get("name") for port in container.get("ports") or []}
            if container in (deployment["spec"]["template"]["spec"].get("initContainers") or []):
                continue  # an init container runs to completion: Kubernetes gives it no probes
            for probe_name in ("livenessProbe", "readinessProbe"):
                probe = container.get(probe_name)
                if not probe:
                    problems.append(f"{at}: no {probe_name}")
                elif "httpGet" in probe and probe["httpGet"]["port"] not in port_names:
                    problems.append(f"{at}: {probe_name} uses an undeclared port")
    assert not problems, "\n".join(problems)


@overlays
def test_workers_exist_exactly_for_consuming_services(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    """A worker Deployment, PDB and ingress policy for SERVICES_WITH_WORKER, none for the others."""
    docs = rendered[overlay]
    assert SERVICES_WITH_WORKER.issubset(SERVICES)

    def workers_of(kind: str) -> set[str]:
        return {
            str((doc["metadata"].get("labels") or {}).get("app.kubernetes.io/name"))
            for doc in _of_kind(docs, kind)
            if (doc["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "worker"
        }

    worker_deployments = {
        str(_pod_labels(deployment).get("app.kubernetes.io/name"))
        for deployment in _of_kind(docs, "Deployment")
        if _pod_labels(deployment).get("app.kubernetes.io/component") == "worker"
    }
    assert worker_deployments == SERVICES_WITH_WORKER
    assert workers_of("Deployment") == SERVICES_WITH_WORKER
    assert workers_of("PodDisruptionBudget") == SERVICES_WITH_WORKER
    assert workers_of("NetworkPolicy") == SERVICES_WITH_WORKER
    # Nothing is left that is meant for a worker a service does not have: no PDB, policy or monitor
    # selects its would-be worker pods without also selecting its api pods (as the namespace's
    # default-deny and the service's egress policy do).
    selector_keys = {"PodDisruptionBudget": "selector", "NetworkPolicy": "podSelector", "PodMonitor": "selector"}
    problems = []
    for service in sorted(set(SERVICES) - SERVICES_WITH_WORKER):
        worker = _worker_labels(service)
        api = {**worker, "app.kubernetes.io/component": "api"}
        for kind, key in selector_keys.items():
            for doc in _of_kind(docs, kind):
                selector = doc["spec"].get(key)
                if _selects(selector, worker) and not _selects(selector, api):
                    problems.append(f"{_ref(doc)} selects a {service} worker, which does not exist")
    assert not problems, "\n".join(problems)


@overlays
def test_service_processes(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    """Command, port, probes and settings of every service's api and (if it has one) worker."""
    docs = rendered[overlay]
    problems = []
    for service, process, deployment in _app_deployments(docs):
        where = _ref(deployment)
        containers = deployment["spec"]["template"]["spec"]["containers"]
        assert len(containers) == 1, f"{where}: expected one container"
        container = containers[0]
        if container.get("command") != ["python", "-m", service, process]:
            problems.append(f"{where}: command is {container.get('command')}")
        if not _image_repository(str(container.get("image", ""))).endswith(f"/{service}"):
            problems.append(f"{where}: image {container.get('image')} is not the {service} image")
        port_name, port_number = PROCESS_PORTS[process]
        ports = {port.get("name"): port.get("containerPort") for port in container.get("ports") or []}
        if ports != {port_name: port_number}:
            problems.append(f"{where}: ports are {ports}, want {{{port_name!r}: {port_number}}}")
        for probe_name, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            http_get = (container.get(probe_name) or {}).get("httpGet") or {}
            if (http_get.get("path"), http_get.get("port")) != (path, port_name):
                problems.append(f"{where}: {probe_name} is not GET {path} on {port_name}")
        prefix = service.upper() + "_"
        env = _container_env(container, docs)
        plain = {
            "MONGO_DB": service,
            "KAFKA_BOOTSTRAP": KAFKA_BOOTSTRAP,
            # Keycloak's realm (base/identity): RS256 tokens verified through its JWKS.
            "JWT_ISSUER": "https://auth.ipo.example/realms/ipo",
            "JWT_AUDIENCE": "ipo-platform",
            "JWT_ALGORITHM": "RS256",
            "JWT_JWKS_URL": "http://ipo-keycloak-service:8080/realms/ipo/protocol/openid-connect/certs",
            "LOG_LEVEL": "INFO",
            "HTTP_PORT": "8000",
            "WORKER_PORT": "8001",
        }
        for key, want in plain.items():
            if env.get(prefix + key) != want:
                problems.append(f"{where}: {prefix}{key} is {env.get(prefix + key)!r}, want {want!r}")
        secret_settings = _secret_settings(service)
        for key in (prefix + "MONGO_URL", prefix + "JWT_SECRET"):
            assert key in secret_settings, f"{service}: {key} is no longer a secret setting"
        for key, secret_key in secret_settings.items():
            value = env.get(key)
            ref = value.get("secretKeyRef") if isinstance(value, dict) else None
            if not ref or ref.get("key") != secret_key:
                problems.append(f"{where}: {key} is not read from Secret key {secret_key}")
            elif not str(ref.get("name", "")).startswith(f"{service}-secrets"):
                problems.append(f"{where}: {key} reads Secret {ref.get('name')}")
        stray = sorted(k for k in env if not k.startswith(prefix))
        if stray:
            problems.append(f"{where}: settings without the {prefix} prefix: {stray}")
    assert not problems, "\n".join(problems)


@overlays
def test_every_api_has_pdb_hpa_and_service(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    docs = rendered[overlay]
    problems = []
    for _service, process, deployment in _app_deployments(docs):
        where = _ref(deployment)
        namespace = deployment["metadata"].get("namespace")
        labels = _pod_labels(deployment)
        pdbs = [
            pdb
            for pdb in _of_kind(docs, "PodDisruptionBudget")
            if pdb["metadata"].get("namespace") == namespace and _selects(pdb["spec"].get("selector"), labels)
        ]
        if len(pdbs) != 1:
            problems.append(f"{where}: selected by {len(pdbs)} PodDisruptionBudgets, want 1")
        if process != "api":
            continue
        hpas = [
            hpa
            for hpa in _of_kind(docs, "HorizontalPodAutoscaler")
            if hpa["metadata"].get("namespace") == namespace
            and hpa["spec"]["scaleTargetRef"]
            == {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]}
        ]
        if len(hpas) != 1:
            problems.append(f"{where}: targeted by {len(hpas)} HorizontalPodAutoscalers, want 1")
        else:
            hpa_spec = hpas[0]["spec"]
            replicas = deployment["spec"].get("replicas", 1)
            if not hpa_spec.get("minReplicas", 1) <= replicas <= hpa_spec["maxReplicas"]:
                problems.append(f"{where}: replicas {replicas} outside the HPA's range")
        services = [
            svc
            for svc in _of_kind(docs, "Service")
            if svc["metadata"].get("namespace") == namespace
            and svc["spec"].get("selector")
            and _selects({"matchLabels": svc["spec"]["selector"]}, labels)
        ]
        if len(services) != 1 or [p.get("targetPort") for p in services[0]["spec"]["ports"]] != ["http"]:
            problems.append(f"{where}: needs exactly one Service forwarding to its `http` port")
    assert not problems, "\n".join(problems)


@overlays
def test_references_resolve(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    """ServiceAccounts, Secrets and ConfigMaps named by the manifests exist (Secrets: dev only)."""
    docs = rendered[overlay]
    accounts = {doc["metadata"]["name"] for doc in _of_kind(docs, "ServiceAccount")}
    secrets = {doc["metadata"]["name"]: doc for doc in _of_kind(docs, "Secret")}
    problems = []
    secret_refs: list[tuple[str, str, str]] = []
    for deployment in _of_kind(docs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        if pod.get("serviceAccountName") not in accounts:
            problems.append(f"{_ref(deployment)}: ServiceAccount {pod.get('serviceAccountName')}")
        for container in _containers(deployment):
            _container_env(container, docs)  # asserts envFrom ConfigMaps exist
            for item in container.get("env") or []:
                ref = (item.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    secret_refs.append((_ref(deployment), ref["name"], ref["key"]))
    for mongodb in _of_kind(docs, "MongoDBCommunity"):
        for user in mongodb["spec"]["users"]:
            ref = user["passwordSecretRef"]
            secret_refs.append((_ref(mongodb), ref["name"], ref.get("key", "password")))
    assert secret_refs
    if overlay == "prod":
        assert not secrets, f"the prod overlay must not carry Secrets: {sorted(secrets)}"
    else:
        for where, name, key in secret_refs:
            if name not in secrets:
                problems.append(f"{where}: Secret {name} is not rendered")
            elif key not in (secrets[name].get("data") or {}):
                problems.append(f"{where}: Secret {name} has no key {key}")
    assert not problems, "\n".join(problems)


def test_dev_secrets_are_placeholders(rendered: dict[str, list[Manifest]]) -> None:
    secrets = _of_kind(rendered["dev"], "Secret")
    assert secrets
    for secret in secrets:
        for key, value in (secret.get("data") or {}).items():
            plain = base64.b64decode(value).decode()
            assert "dev-only-not-a-secret" in plain, f"{_ref(secret)}[{key}] looks real"


def test_mongodb_users(rendered: dict[str, list[Manifest]]) -> None:
    for docs in rendered.values():
        mongodb = _named(docs, "MongoDBCommunity", "ipo-mongodb")
        users = {user["name"]: user for user in mongodb["spec"]["users"]}
        assert set(users) == set(SERVICES)
        for service, user in users.items():
            assert user["roles"] == [{"name": "readWrite", "db": service}], user


# ---------------------------------------------------------------------------------------------
# Kafka


@overlays
def test_kafka_cluster(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    docs = rendered[overlay]
    kafka = _named(docs, "Kafka", KAFKA_CLUSTER)
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1"
    assert str(kafka["spec"]["kafka"]["version"]) == KAFKA_VERSION
    assert "zookeeper" not in kafka["spec"], "KRaft only"
    listeners = {(lst["port"], lst["type"], lst["tls"]) for lst in kafka["spec"]["kafka"]["listeners"]}
    host, _, port = KAFKA_BOOTSTRAP.partition(":")
    assert host == f"{KAFKA_CLUSTER}-kafka-bootstrap"
    assert (int(port), "internal", False) in listeners, "the services' bootstrap has no listener"
    pools = [
        pool
        for pool in _of_kind(docs, "KafkaNodePool")
        if pool["metadata"]["labels"].get("strimzi.io/cluster") == KAFKA_CLUSTER
    ]
    roles = {role for pool in pools for role in pool["spec"]["roles"]}
    assert roles == {"broker", "controller"}, f"node pools provide roles {roles}"
    config = kafka["spec"]["kafka"]["config"]
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    for key in ("default.replication.factor", "offsets.topic.replication.factor"):
        assert config[key] <= brokers, f"{key} {config[key]} > {brokers} brokers"
    assert config["min.insync.replicas"] <= config["default.replication.factor"]


@overlays
def test_kafka_topics(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    docs = rendered[overlay]
    brokers = sum(
        pool["spec"]["replicas"] for pool in _of_kind(docs, "KafkaNodePool") if "broker" in pool["spec"]["roles"]
    )
    topics = {
        topic["spec"].get("topicName", topic["metadata"]["name"]): topic for topic in _of_kind(docs, "KafkaTopic")
    }
    missing = sorted(set(TOPICS) - set(topics))
    assert not missing, f"KafkaTopics missing: {missing}"
    problems = []
    for name, (partitions, retention_ms) in TOPICS.items():
        topic = topics[name]
        spec, config = topic["spec"], topic["spec"].get("config") or {}
        if topic["metadata"]["labels"].get("strimzi.io/cluster") != KAFKA_CLUSTER:
            problems.append(f"{name}: not labelled strimzi.io/cluster={KAFKA_CLUSTER}")
        if spec.get("partitions") != partitions:
            problems.append(f"{name}: {spec.get('partitions')} partitions, want {partitions}")
        if int(config.get("retention.ms", -1)) != retention_ms:
            problems.append(f"{name}: retention.ms {config.get('retention.ms')}, want {retention_ms}")
        replicas = spec.get("replicas", 0)
        if not 1 <= replicas <= brokers:
            problems.append(f"{name}: {replicas} replicas with {brokers} brokers")
        if not 1 <= int(config.get("min.insync.replicas", 0)) <= replicas:
            problems.append(f"{name}: min.insync.replicas must be set and <= replicas")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# sizes per overlay


def test_prod_is_highly_available(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["prod"]
    for deployment in _of_kind(docs, "Deployment"):
        assert deployment["spec"].get("replicas", 1) >= 2, _ref(deployment)
    for hpa in _of_kind(docs, "HorizontalPodAutoscaler"):
        assert hpa["spec"].get("minReplicas", 1) >= 2, _ref(hpa)
    for pool in _of_kind(docs, "KafkaNodePool"):
        assert pool["spec"]["replicas"] >= 3, _ref(pool)
    for topic in _of_kind(docs, "KafkaTopic"):
        assert topic["spec"]["replicas"] == 3, _ref(topic)
        assert int(topic["spec"]["config"]["min.insync.replicas"]) == 2, _ref(topic)
    assert _named(docs, "MongoDBCommunity", "ipo-mongodb")["spec"]["members"] >= 3


def test_every_process_knows_its_environment(rendered: dict[str, list[Manifest]]) -> None:
    """Settings refuse development fallbacks only when they know they run in prod."""
    for overlay, expected in (("prod", "prod"), ("dev", None)):
        for service in SERVICES:
            config = next(c for c in _of_kind(rendered[overlay], "ConfigMap")
                          if c["metadata"]["name"].startswith(f"{service}-config"))
            assert config["data"].get(f"{service.upper()}_ENVIRONMENT") == expected, (overlay, _ref(config))


def test_dev_is_small(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["dev"]
    for deployment in _of_kind(docs, "Deployment"):
        assert deployment["spec"]["replicas"] == 1, _ref(deployment)
    assert _named(docs, "MongoDBCommunity", "ipo-mongodb")["spec"]["members"] == 1


@overlays
def test_everything_is_in_the_overlay_namespace(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    docs = rendered[overlay]
    namespaces = [doc["metadata"]["name"] for doc in _of_kind(docs, "Namespace")]
    assert len(namespaces) == 1
    stray = [
        _ref(doc) for doc in docs if doc["kind"] != "Namespace" and doc["metadata"].get("namespace") != namespaces[0]
    ]
    assert not stray, f"not in namespace {namespaces[0]}: {stray}"


# ---------------------------------------------------------------------------------------------
# network policies


def _policies(docs: list[Manifest], labels: Mapping[str, str], kind: str) -> list[Manifest]:
    return [
        policy
        for policy in _of_kind(docs, "NetworkPolicy")
        if kind in policy["spec"].get("policyTypes", []) and _selects(policy["spec"].get("podSelector"), labels)
    ]


def _rule_ports(rule: Mapping[str, Any]) -> set[tuple[str, int]]:
    return {(port.get("protocol", "TCP"), port["port"]) for port in rule.get("ports") or []}


def _is_monitoring_peer(peer: Mapping[str, Any]) -> bool:
    return _selects(peer.get("namespaceSelector"), {"kubernetes.io/metadata.name": MONITORING_NAMESPACE})


@overlays
def test_network_policies(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    docs = rendered[overlay]
    default_deny = [
        policy
        for policy in _of_kind(docs, "NetworkPolicy")
        if policy["spec"].get("podSelector") == {}
        and policy["spec"].get("policyTypes") == ["Ingress"]
        and not policy["spec"].get("ingress")
    ]
    assert default_deny, "no default-deny ingress NetworkPolicy"
    mongodb = _named(docs, "MongoDBCommunity", "ipo-mongodb")
    mongodb_labels = mongodb["spec"]["statefulSet"]["spec"]["template"]["metadata"]["labels"]
    problems = []
    for _service, process, deployment in _app_deployments(docs):
        where = _ref(deployment)
        labels = _pod_labels(deployment)
        _, port = PROCESS_PORTS[process]
        in_rules = [rule for p in _policies(docs, labels, "Ingress") for rule in p["spec"].get("ingress") or []]
        if any(_rule_ports(rule) != {("TCP", port)} for rule in in_rules):
            problems.append(f"{where}: ingress allowed on ports other than {port}")
        peers = [peer for rule in in_rules for peer in rule.get("from") or []]
        if any(not rule.get("from") for rule in in_rules):
            problems.append(f"{where}: an ingress rule allows any source")
        if not any(_is_monitoring_peer(peer) for peer in peers):
            problems.append(f"{where}: the {MONITORING_NAMESPACE} namespace cannot reach it")
        same_namespace = any(peer == {"podSelector": {}} for peer in peers)
        if process == "api" and not same_namespace:
            problems.append(f"{where}: pods of its namespace cannot reach the api")
        if process == "worker" and any(not _is_monitoring_peer(peer) for peer in peers):
            problems.append(f"{where}: the worker accepts traffic from outside {MONITORING_NAMESPACE}")
        out_rules = [rule for p in _policies(docs, labels, "Egress") for rule in p["spec"].get("egress") or []]
        allowed = set().union(*(_rule_ports(rule) for rule in out_rules)) if out_rules else set()
        if allowed != EGRESS_PORTS or any(not rule.get("ports") for rule in out_rules):
            problems.append(f"{where}: egress allows {sorted(allowed)}, want {sorted(EGRESS_PORTS)}")
        for rule in out_rules:
            targets = [peer.get("podSelector") for peer in rule.get("to") or []]
            if ("TCP", 27017) in _rule_ports(rule) and not any(_selects(sel, mongodb_labels) for sel in targets):
                problems.append(f"{where}: the 27017 egress rule does not reach the MongoDB pods")
            if ("TCP", 8080) in _rule_ports(rule) and targets != [{"matchLabels": {"app": "keycloak"}}]:
                problems.append(f"{where}: the 8080 egress rule reaches more than Keycloak")
            if ("TCP", 9092) in _rule_ports(rule) and not all(
                (sel or {}).get("matchLabels", {}).get("strimzi.io/cluster") == KAFKA_CLUSTER for sel in targets
            ):
                problems.append(f"{where}: the 9092 egress rule reaches more than {KAFKA_CLUSTER}")
    mongo_ingress = _policies(docs, mongodb_labels, "Ingress")
    for _service, _process, deployment in _app_deployments(docs):
        labels = _pod_labels(deployment)
        if not any(
            ("TCP", 27017) in _rule_ports(rule)
            and any(_selects(peer.get("podSelector"), labels) for peer in rule.get("from") or [])
            for policy in mongo_ingress
            for rule in policy["spec"].get("ingress") or []
        ):
            problems.append(f"{_ref(deployment)}: MongoDB does not accept its connections")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# monitoring


@overlays
def test_monitors_cover_every_process(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    docs = rendered[overlay]
    problems = []
    for service, process, deployment in _app_deployments(docs):
        labels = _pod_labels(deployment)
        port_name, _ = PROCESS_PORTS[process]
        if process == "api":
            svc = _named(docs, "Service", service)
            monitors = [
                monitor
                for monitor in _of_kind(docs, "ServiceMonitor")
                if _selects(monitor["spec"]["selector"], svc["metadata"].get("labels") or {})
                and any(
                    (ep.get("port"), ep.get("path")) == (port_name, "/metrics") for ep in monitor["spec"]["endpoints"]
                )
            ]
        else:
            monitors = [
                monitor
                for monitor in _of_kind(docs, "PodMonitor")
                if _selects(monitor["spec"]["selector"], labels)
                and any(
                    (ep.get("port"), ep.get("path")) == (port_name, "/metrics")
                    for ep in monitor["spec"]["podMetricsEndpoints"]
                )
            ]
        if len(monitors) != 1:
            problems.append(f"{_ref(deployment)}: scraped by {len(monitors)} monitors, want 1")
    assert not problems, "\n".join(problems)


def test_alert_rules(rendered: dict[str, list[Manifest]]) -> None:
    rules = _alert_rules(rendered["prod"])
    assert rules
    for rule in rules:
        assert rule.get("labels", {}).get("severity") in ("warning", "critical"), rule["alert"]
        assert rule.get("annotations", {}).get("summary"), rule["alert"]

    def find(fragment: str) -> Manifest:
        found = [rule for rule in rules if fragment in _normalise(str(rule["expr"]))]
        assert len(found) == 1, f"want one alert whose expr has {fragment!r}, found {len(found)}"
        return found[0]

    for service in SERVICES:
        # The api runs the outbox relay, so every service has these two.
        assert "5.." in str(find(f"rate({service}_http_requests_total{{")["expr"])
        outbox = find(f"{service}_outbox_oldest_age_seconds")
        assert _normalise(str(outbox["expr"])).endswith("> 60")
        assert outbox["for"] == "5m"
        if service in SERVICES_WITH_WORKER:
            find(f"increase({service}_events_dead_lettered_total[10m]) > 0")
            lag = find(f"{service}_consumer_lag_messages > 1000")
            assert lag["for"] == "10m"
        else:  # no worker, so no consumer: such alerts could never fire
            for metric in (f"{service}_events_dead_lettered_total", f"{service}_consumer_lag_messages"):
                stale = [rule["alert"] for rule in rules if metric in str(rule["expr"])]
                assert not stale, f"{service} has no worker, but alerts {stale} use {metric}"
    target_down = [rule for rule in rules if re.match(r"^up\{.*\} == 0$", _normalise(str(rule["expr"])))]
    assert target_down, "no target-down alert"
    assert all(service in str(target_down[0]["expr"]) for service in SERVICES)


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not installed: `make test` installs Debian's `prometheus` package, which has it")
    return found


def _rule_file(docs: list[Manifest], folder: Path, *, annotations: bool = True) -> Path:
    """The groups of every PrometheusRule as a Prometheus rule file in `folder`."""
    groups = [group for doc in _of_kind(docs, "PrometheusRule") for group in doc["spec"]["groups"]]
    if not annotations:  # promtool's unit tests would otherwise have to restate every text
        groups = [
            {**group, "rules": [{k: v for k, v in rule.items() if k != "annotations"} for rule in group["rules"]]}
            for group in groups
        ]
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    return path


def test_alert_rules_pass_promtool(rendered: dict[str, list[Manifest]], tmp_path: Path) -> None:
    promtool = _promtool()
    rules = _rule_file(rendered["prod"], tmp_path)
    done = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_alerts_fire(rendered: dict[str, list[Manifest]], tmp_path: Path) -> None:
    """promtool unit test: the 5xx, outbox, dead-letter, lag and target-down alerts really fire.

    The worker alerts fire for every service with a worker; a service without one has no such
    alerts, so the same series for it stay silent.
    """
    promtool = _promtool()
    _rule_file(rendered["prod"], tmp_path, annotations=False)
    worker_services = sorted(SERVICES_WITH_WORKER)
    no_worker_services = sorted(set(SERVICES) - SERVICES_WITH_WORKER)
    assert worker_services, "no service has a worker: the worker alerts cannot be tested"
    # The api alerts are exercised on one service (a worker-less one if there is any).
    api_service = (no_worker_services or worker_services)[0]

    def labels(**extra: str) -> str:
        return ",".join(f'{key}="{value}"' for key, value in extra.items())

    def worker_of(service: str) -> dict[str, str]:
        return {"namespace": "ipo", "pod": f"{service}-worker-0"}

    api = {"namespace": "ipo", "pod": f"{api_service}-api-0"}
    input_series = [
        # one api: outbox relay stuck, half the requests fail
        {"series": f"{api_service}_outbox_oldest_age_seconds{{{labels(**api)}}}", "values": "120x10"},
        {"series": f"{api_service}_http_requests_total{{{labels(**api, status='500')}}}", "values": "0+10x20"},
        {"series": f"{api_service}_http_requests_total{{{labels(**api, status='200')}}}", "values": "0+10x20"},
    ]
    for service in worker_services:
        worker = worker_of(service)
        if service != api_service:  # the api of a service with a worker: its outbox keeps up
            worker_api = {"namespace": "ipo", "pod": f"{service}-api-0"}
            input_series.append(
                {"series": f"{service}_outbox_oldest_age_seconds{{{labels(**worker_api)}}}", "values": "5x10"}
            )
        input_series += [
            # the worker: dead letters, lag, and its scrape target down
            {"series": f"{service}_events_dead_lettered_total{{{labels(**worker)}}}", "values": "0 0 3x8"},
            {"series": f"{service}_consumer_lag_messages{{{labels(**worker)}}}", "values": "5000x15"},
            {
                "series": f"up{{{labels(**worker, ipo_service=service, ipo_process='worker')}}}",
                "values": "0x10",
            },
        ]
    for service in no_worker_services:
        # worker metrics under the name of a service without a worker: no rule reads them
        stray = {"namespace": "ipo", "pod": f"{service}-api-1"}
        input_series += [
            {"series": f"{service}_events_dead_lettered_total{{{labels(**stray)}}}", "values": "0 0 3x8"},
            {"series": f"{service}_consumer_lag_messages{{{labels(**stray)}}}", "values": "5000x15"},
        ]

    def fires(alertname: str, eval_time: str, *exp: Mapping[str, str]) -> dict[str, Any]:
        return {
            "eval_time": eval_time,
            "alertname": alertname,
            "exp_alerts": [{"exp_labels": dict(expected)} for expected in exp],
        }

    def per_worker(**extra: str) -> list[dict[str, str]]:
        return [{**worker_of(service), **extra, "ipo_service": service} for service in worker_services]

    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": input_series,
                "alert_rule_test": [
                    fires(
                        "IpoOutboxBacklogStale",
                        "6m",
                        {"namespace": "ipo", "severity": "warning", "ipo_service": api_service},
                    ),
                    fires("IpoEventsDeadLettered", "4m", *per_worker(severity="warning")),
                    fires("IpoConsumerLagHigh", "9m"),
                    fires(
                        "IpoApiHighErrorRatio",
                        "12m",
                        {"namespace": "ipo", "severity": "critical", "ipo_service": api_service},
                    ),
                    fires("IpoConsumerLagHigh", "11m", *per_worker(severity="warning")),
                    fires("IpoTargetDown", "6m", *per_worker(ipo_process="worker", severity="critical")),
                ],
            }
        ],
    }
    test_file = tmp_path / "rules_test.yaml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    done = subprocess.run(
        [promtool, "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_publicity_overdue_release_alert(rendered: dict[str, list[Manifest]], tmp_path: Path) -> None:
    """promtool unit test: a release overdue for 3 minutes alerts; one published within a minute of its
    embargo (a blip of the gauge) does not."""
    promtool = _promtool()
    _rule_file(rendered["prod"], tmp_path, annotations=False)
    stuck = {"namespace": "ipo", "pod": "publicity-api-0"}
    blip = {"namespace": "ipo-blip", "pod": "publicity-api-0"}

    def series(labels: dict[str, str], values: str) -> dict[str, str]:
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
        return {"series": f"publicity_releases_overdue{{{inner}}}", "values": values}

    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [series(stuck, "0 0 1x10"), series(blip, "0 1 0x10")],
            "alert_rule_test": [
                {"eval_time": "3m", "alertname": "IpoPublicityReleaseOverdue", "exp_alerts": []},
                {"eval_time": "6m", "alertname": "IpoPublicityReleaseOverdue", "exp_alerts": [
                    {"exp_labels": {"namespace": "ipo", "severity": "critical", "ipo_service": "publicity"}}]},
            ],
        }],
    }
    test_file = tmp_path / "rules_test.yaml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    done = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@overlays
def test_every_api_creates_its_indexes_before_it_serves(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    """The indexes each service declares in code (the queries and background tasks they serve: README,
    "Beyond one machine") are created by an init container of its api Deployment."""
    for service in SERVICES:
        deployment = _named(rendered[overlay], "Deployment", f"{service}-api")
        init = {c["name"]: c for c in deployment["spec"]["template"]["spec"].get("initContainers") or []}
        assert "indexes" in init, f"{service}-api has no indexes init container"
        assert init["indexes"]["command"] == ["python", "-m", service, "indexes"]
        env = {e["name"] for e in init["indexes"].get("env") or []}
        assert f"{service.upper()}_MONGO_URL" in env


# ---------------------------------------------------------------------------------------------
# identity and portal


def test_keycloak_realm_is_the_repos_with_demo_users_only_in_dev(rendered: dict[str, list[Manifest]]) -> None:
    """The cluster imports the realm devstack imports (deploy/local/keycloak); only dev has demo users."""
    prod = _named(rendered["prod"], "KeycloakRealmImport", "ipo-realm")["spec"]
    assert prod["realm"] == json.loads(KEYCLOAK_REALM_FILE.read_text()), (
        "deploy/k8s/base/identity/realm-import.yaml differs from deploy/local/keycloak/realm-ipo.json")
    assert not [u for u in prod["realm"].get("users", []) if not u.get("serviceAccountClientId")], "people in prod"
    assert prod["keycloakCRName"] == _named(rendered["prod"], "Keycloak", "ipo-keycloak")["metadata"]["name"]
    dev = _named(rendered["dev"], "KeycloakRealmImport", "ipo-realm")["spec"]["realm"]
    assert dev == development_realm(), "overlays/dev/patches/realm-import.yaml differs from the development realm"
    assert {u["username"] for u in dev["users"]} >= {"demo-participant-a", "demo-officer"}
    placeholders = set(re.findall(r"\$\{([A-Z_]+)\}", json.dumps(prod["realm"])))
    assert placeholders == set(prod["placeholders"]), "every placeholder of the realm is filled from a Secret"


@overlays
def test_portal_runs_with_the_kits_defaults(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    docs = rendered[overlay]
    deployment = _named(docs, "Deployment", "portal-web")
    container = next(iter(_containers(deployment)))
    assert container["command"] == ["python", "-m", "portal"]
    env = _container_env(container, docs)
    assert env["PORTAL_HTTP_PORT"] == "8000" and env["PORTAL_JWT_ALGORITHM"] == "RS256"
    for key, secret_key in (("PORTAL_SESSION_KEY", "session-key"), ("PORTAL_OIDC_CLIENT_SECRET", "oidc-client-secret")):
        assert env[key]["secretKeyRef"]["key"] == secret_key, f"{key} must come from the Secret portal-secrets"
    assert _named(docs, "Service", "portal")["spec"]["ports"][0]["targetPort"] == "http"
    assert _named(docs, "ServiceMonitor", "portal-web")["spec"]["endpoints"][0]["path"] == "/metrics"
