"""Contract tests: the committed event schemas, AsyncAPI and OpenAPI documents match the code, event
schemas only change compatibly, and every consumer gets the fields it needs from its producer.

The checks themselves live in the repository's tooling package `contracts` (deploy/local/contracts, so CI
and developers run the same code); these
tests call them against the repository, and exercise them on small hand-made cases to show that
they do fail when they should.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
import uuid
from datetime import UTC, datetime
from importlib.metadata import EntryPoint, EntryPoints
from pathlib import Path
from typing import Any

import pytest
from contracts import cli, compatibility, discovery, event_schemas, files, repository
from jsonschema import Draft202012Validator
from registry.organisations.events import OrganisationRegistered
from servicekit.consumer import Record, dead_letter_headers
from servicekit.events.envelope import CloudEvent
from trading.organisations.projection import OrganisationRegisteredV1

ROOT = discovery.find_root(Path(__file__).parent)
REGISTERED = "cn.ipo.ln.registry.organisation.registered.v1"
UPDATED = "cn.ipo.ln.registry.organisation.updated.v1"
PREFIX = "cn.ipo.ln"
TALENT_STATUS_CHANGED = f"{PREFIX}.registry.talent.status_changed.v1"
COMPLETED = f"{PREFIX}.training.enrolment.completed.v1"


def _load(rel: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / rel).read_text(encoding="utf-8"))
    return loaded


def _fake_root(tmp_path: Path) -> Path:
    """A directory that looks like the repository root to the checks, holding only generated files."""
    (tmp_path / "shared" / "servicekit").mkdir(parents=True)
    (tmp_path / "services").mkdir()
    files.write(tmp_path)
    return tmp_path


# --- the repository's contracts ---------------------------------------------------------------


def test_generated_files_are_up_to_date() -> None:
    problems = files.check(ROOT)
    assert not problems, "\n".join(problems) + "\nrun: python -m contracts write"


def test_event_schemas_have_no_incompatible_change_against_head() -> None:
    problems = repository.compatibility_problems(ROOT)
    assert not problems, "\n".join(problems)


def test_every_consumer_gets_the_fields_it_requires() -> None:
    problems = repository.consumer_problems(ROOT)
    assert not problems, "\n".join(problems)


def test_discovery_finds_what_the_services_publish_and_receive() -> None:
    """Guards the checks against passing vacuously because discovery found nothing."""
    published = {service: {e.event_type for e in discovery.published_events(service)}
                 for service in discovery.service_names()}
    assert {REGISTERED, UPDATED, TALENT_STATUS_CHANGED, COMPLETED} <= published["registry"] | published["training"]
    assert f"{PREFIX}.trading.licence.signed.v1" in published["trading"]
    handled = {s: set(discovery.load_definition(s).handlers.by_type) for s in discovery.service_names()}
    # The cross-service flows of the architecture brief, section 3: who consumes what.
    assert {REGISTERED, UPDATED, TALENT_STATUS_CHANGED} <= handled["trading"]
    assert TALENT_STATUS_CHANGED in handled["training"]
    assert COMPLETED in handled["registry"]
    for service in discovery.service_names():
        assert (ROOT / "services" / service / "schemas" / "asyncapi.json").is_file()
        assert (ROOT / "services" / service / "schemas" / "openapi.json").is_file()


def test_every_service_in_the_repository_is_discovered() -> None:
    """Discovery goes by the entry points the services declare: a service that forgot to declare one
    would silently have no contract checked."""
    # A package under services/ that is not an event service (the portal) says so in its pyproject.
    in_repo = sorted(p.parent.name for p in ROOT.glob("services/*/pyproject.toml")
                     if tomllib.loads(p.read_text()).get("tool", {}).get("ipo-platform", {}).get("event-service", True))
    assert list(discovery.service_names()) == in_repo == ["publicity", "registry", "trading", "training"]
    for service, definition in discovery.definitions().items():
        assert definition.name == service


@pytest.mark.parametrize(("declared", "message"), [
    ([], "no installed package declares"),
    ([("registry", "registry.definition:REGISTRY"), ("registry", "registry.definition:REGISTRY")], "two packages"),
    ([("trading", "registry.definition:REGISTRY")], "should share one name"),
    ([("registry", "registry.settings:RegistrySettings")], "is not a ServiceDefinition"),
])
def test_discovery_refuses_missing_or_mismatched_entry_points(
        monkeypatch: pytest.MonkeyPatch, declared: list[tuple[str, str]], message: str) -> None:
    found = EntryPoints(EntryPoint(name, value, discovery.ENTRY_POINT_GROUP) for name, value in declared)
    monkeypatch.setattr(discovery, "entry_points", lambda group: found.select(group=group))
    with pytest.raises(discovery.ContractError, match=re.escape(message)):
        discovery.definitions()


def test_event_schema_files_are_valid_json_schema_named_by_their_type() -> None:
    files = sorted(ROOT.glob("services/*/schemas/events/*.json"))
    assert files
    for path in files:
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["$id"] == path.stem
        assert schema["additionalProperties"] is False


def test_an_event_the_registry_publishes_matches_its_committed_schema() -> None:
    payload = OrganisationRegistered(
        organisation_id="91210100MA0QTEXT09", credit_code="91210100MA0QTEXT09", name="Shenyang Battery Co.",
        kind="enterprise", region_code="210100", status="active", version=1, occurred_at=datetime.now(UTC),
    )
    record = json.loads(CloudEvent.new("/ipo/registry", payload.organisation_id, payload).to_record_value())
    schema = _load(f"services/registry/schemas/events/{REGISTERED}.json")
    validator = Draft202012Validator(schema)
    assert list(validator.iter_errors(record["data"])) == []
    envelope = _load("services/registry/schemas/asyncapi.json")["components"]["schemas"]["CloudEvent"]
    assert list(Draft202012Validator(envelope).iter_errors(record)) == []
    # The schema does reject what a consumer could not use.
    broken = {k: v for k, v in record["data"].items() if k != "name"}
    assert [e.message for e in validator.iter_errors(broken)] == ["'name' is a required property"]
    assert list(validator.iter_errors({**record["data"], "kind": "pirate"}))
    # And trading's tolerant reader takes the real thing.
    assert OrganisationRegisteredV1.model_validate(record["data"]).name == "Shenyang Battery Co."


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _pointer(document: Any, fragment: str) -> Any:
    target = document
    for part in fragment.lstrip("/").split("/") if fragment.strip("/") else []:
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(target, dict), f"#{fragment} goes through a non-object"
        assert part in target, f"#{fragment}: no {part!r}"
        target = target[part]
    return target


@pytest.mark.parametrize("service", discovery.service_names())
def test_asyncapi_document_is_consistent(service: str) -> None:
    path = ROOT / "services" / service / "schemas" / "asyncapi.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    for ref in _refs(doc):
        file_part, _, fragment = ref.partition("#")
        target = doc if not file_part else json.loads((path.parent / file_part).resolve().read_text(encoding="utf-8"))
        _pointer(target, fragment)
    key = re.compile(r"^[A-Za-z0-9_-]+$")
    for section in (doc["channels"], doc["operations"], doc["components"]["messages"]):
        assert all(key.match(name) for name in section), list(section)
    for name, operation in doc["operations"].items():
        channel = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel + "/messages/"), (name, message)

    own = doc["channels"][f"{service}-events"]
    assert own["address"] == f"{service}.events"
    dlq = doc["channels"][f"{service}-worker-dlq"]
    assert dlq["address"] == f"{service}-worker.dlq"
    headers = doc["components"]["schemas"]["DeadLetterHeaders"]
    expected = [n for n, _ in dead_letter_headers(Record("t", 0, 0, None, None), "g", ValueError("x"), 1)]
    assert headers["required"] == expected
    assert set(headers["properties"]) == set(expected)
    assert doc["components"]["schemas"]["StructuredModeHeaders"]["properties"]["content-type"]["const"] == (
        "application/cloudevents+json")

    definition = discovery.load_definition(service)
    receives = {op["channel"]["$ref"].removeprefix("#/channels/"): op for op in doc["operations"].values()
                if op["action"] == "receive" and not op["channel"]["$ref"].endswith("-dlq")}
    assert sorted(doc["channels"][c]["address"] for c in receives) == sorted(definition.handlers.topics)
    received = {m["$ref"].rsplit("/", 1)[-1] for op in receives.values() for m in op["messages"]}
    names = {doc["components"]["messages"][m]["name"] for m in received}
    assert names == set(definition.handlers.by_type)


def test_registry_and_trading_asyncapi_describe_the_organisation_flow() -> None:
    registry = _load("services/registry/schemas/asyncapi.json")
    sent = [m["$ref"] for m in registry["operations"]["publish-events"]["messages"]]
    assert {"#/channels/registry-events/messages/registry-organisation-registered-v1",
            "#/channels/registry-events/messages/registry-organisation-updated-v1"} <= set(sent)
    message = registry["components"]["messages"]["registry-organisation-registered-v1"]
    assert message["payload"]["allOf"][1]["properties"]["data"] == {"$ref": f"./events/{REGISTERED}.json"}
    assert message["contentType"] == "application/cloudevents+json"
    assert message["bindings"]["kafka"]["key"]["type"] == "string"

    trading = _load("services/trading/schemas/asyncapi.json")
    receive = trading["operations"]["receive-registry-events"]
    assert receive["bindings"]["kafka"]["groupId"]["const"] == "trading-worker"
    consumed = trading["components"]["messages"]["registry-organisation-updated-v1"]
    assert consumed["payload"]["allOf"][1]["properties"]["data"] == {
        "$ref": f"../../registry/schemas/events/{UPDATED}.json"}


@pytest.mark.parametrize("service", discovery.service_names())
def test_openapi_paths_are_versioned(service: str) -> None:
    doc = _load(f"services/{service}/schemas/openapi.json")
    assert doc["openapi"].startswith("3.")
    assert all(path.startswith("/v1/") for path in doc["paths"]), list(doc["paths"])


def _fake_service(root: Path, name: str, files: dict[str, str]) -> None:
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


EVENT_HEADER = """
from typing import ClassVar
from servicekit.events.envelope import EventPayload
"""


def test_discovery_reads_events_modules_and_packages_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    _fake_service(tmp_path, "fakesvc_ok", {
        "things/__init__.py": "",
        "things/events.py": EVENT_HEADER + """
class Base(EventPayload):
    thing_id: str

class ThingMade(Base):
    event_type: ClassVar[str] = "cn.ipo.ln.fakesvc_ok.thing.made.v1"
""",
        "things/models.py": EVENT_HEADER + """
class NotAnEvent(EventPayload):
    event_type: ClassVar[str] = "cn.ipo.ln.fakesvc_ok.thing.internal.v1"
""",
        "events/__init__.py": "",
        "events/widgets.py": EVENT_HEADER + """
from fakesvc_ok.things.events import ThingMade  # re-exported: counted once, where it is defined

class WidgetMade(EventPayload):
    event_type: ClassVar[str] = "cn.ipo.ln.fakesvc_ok.widget.made.v2"
""",
    })
    found = discovery.published_events("fakesvc_ok")
    assert [(e.event_type, e.payload.__name__) for e in found] == [
        ("cn.ipo.ln.fakesvc_ok.thing.made.v1", "ThingMade"), ("cn.ipo.ln.fakesvc_ok.widget.made.v2", "WidgetMade")]
    assert event_schemas.event_schema(found[0])["$id"] == "cn.ipo.ln.fakesvc_ok.thing.made.v1"
    assert event_schemas.event_schema(found[0])["required"] == ["thing_id"]


@pytest.mark.parametrize(("event_types", "message"), [
    (["cn.ipo.ln.registry.thing.made.v1"], "should look like cn.ipo.ln.{name}."),
    (["cn.ipo.ln.{name}.thing.made"], "should look like"),
    (["cn.ipo.ln.{name}.thing.made.v1", "cn.ipo.ln.{name}.thing.made.v1"], "both claim"),
])
def test_discovery_refuses_badly_named_or_duplicate_event_types(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, event_types: list[str], message: str) -> None:
    name = f"fakesvc_{uuid.uuid4().hex[:12]}"  # a package of its own: imported modules stay cached
    classes = "".join(f"""
class Event{i}(EventPayload):
    event_type: ClassVar[str] = "{t.format(name=name)}"
""" for i, t in enumerate(event_types))
    monkeypatch.syspath_prepend(str(tmp_path))
    _fake_service(tmp_path, name, {"events.py": EVENT_HEADER + classes})
    with pytest.raises(discovery.ContractError, match=re.escape(message.format(name=name))):
        discovery.published_events(name)


# --- the checks fail when they should ---------------------------------------------------------


def test_check_reports_stale_missing_and_leftover_files(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    assert files.check(root) == []
    schema = root / "services" / "registry" / "schemas" / "events" / f"{REGISTERED}.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace('"title": "Name"', '"title": "Old name"'),
                      encoding="utf-8")
    (root / "services" / "trading" / "schemas" / "openapi.json").unlink()
    leftover = root / "services" / "registry" / "schemas" / "events" / "cn.ipo.ln.registry.gone.away.v1.json"
    leftover.write_text("{}\n", encoding="utf-8")

    problems = files.check(root)
    assert len(problems) == 3, problems
    stale = next(p for p in problems if p.startswith("stale: "))
    assert REGISTERED in stale
    assert '-      "title": "Old name",' in stale
    assert '+      "title": "Name",' in stale
    assert "missing: services/trading/schemas/openapi.json" in problems
    assert any("gone.away" in p and "not generated" in p for p in problems)
    assert cli.main(["check", "--root", str(root)]) == 1

    assert cli.main(["write", "--root", str(root)]) == 0
    assert not leftover.exists()
    assert cli.main(["check", "--root", str(root)]) == 0


def test_compatibility_is_judged_against_what_head_holds(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    events = root / "services" / "registry" / "schemas" / "events"
    committed = json.loads((events / f"{REGISTERED}.json").read_text(encoding="utf-8"))
    committed["properties"]["legacy_code"] = {"type": "string"}
    (events / f"{REGISTERED}.json").write_text(event_schemas.render(committed), encoding="utf-8")
    (events / "cn.ipo.ln.registry.organisation.merged.v1.json").write_text("{}\n", encoding="utf-8")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "services"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "baseline"], cwd=root, check=True)
    files.write(root)  # the working copy is regenerated: HEAD, not it, is the baseline

    problems = repository.compatibility_problems(root)
    assert f"{REGISTERED}: legacy_code: property removed" in problems
    assert any("organisation.merged.v1: no longer published" in p for p in problems)
    assert len(problems) == 2, problems


def test_consumer_check_reports_what_the_producer_lacks(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    assert repository.consumer_problems(root) == []
    events = root / "services" / "registry" / "schemas" / "events"
    schema = json.loads((events / f"{UPDATED}.json").read_text(encoding="utf-8"))
    del schema["properties"]["name"]
    schema["required"].remove("name")
    schema["properties"]["version"] = {"type": "string"}
    (events / f"{UPDATED}.json").write_text(event_schemas.render(schema), encoding="utf-8")
    (events / f"{REGISTERED}.json").unlink()

    problems = repository.consumer_problems(root)
    assert any(REGISTERED in p and "no service publishes it" in p for p in problems), problems
    # Both consumers of the organisation events (trading's and publicity's projections) are told.
    for consumer in ("trading", "publicity"):
        reading = f"{consumer} (OrganisationUpdatedV1) reading {UPDATED}"
        assert f"{reading}: name: required by the consumer, missing in the producer's schema" in problems
        assert f"{reading}: version: producer sends string, consumer takes integer" in problems
    assert len(problems) == 6, problems


# --- incompatibilities() on small schemas ------------------------------------------------------


def _obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or [], **extra}


STR = {"type": "string"}
INT = {"type": "integer"}
BASE = _obj({"id": STR, "count": INT, "note": {"anyOf": [STR, {"type": "null"}], "default": None}}, ["id", "count"])


def test_identical_schemas_are_compatible() -> None:
    assert compatibility.incompatibilities(BASE, json.loads(json.dumps(BASE))) == []


def test_adding_an_optional_property_is_compatible() -> None:
    new = _obj({**BASE["properties"], "colour": STR}, ["id", "count"])
    assert compatibility.incompatibilities(BASE, new) == []


def test_a_removed_property_is_incompatible() -> None:
    new = _obj({"id": STR, "count": INT}, ["id", "count"])
    assert compatibility.incompatibilities(BASE, new) == ["note: property removed"]


def test_a_newly_required_property_is_incompatible() -> None:
    new = _obj(BASE["properties"], ["id", "count", "note"])
    assert compatibility.incompatibilities(BASE, new) == ["note: property newly required"]
    added = _obj({**BASE["properties"], "colour": STR}, ["id", "count", "colour"])
    assert compatibility.incompatibilities(BASE, added) == ["colour: property newly required (a new property)"]


def test_a_changed_type_is_incompatible() -> None:
    new = _obj({**BASE["properties"], "count": {"type": "number"}}, ["id", "count"])
    assert compatibility.incompatibilities(BASE, new) == ["count: type changed from integer to number"]
    nullable = _obj({**BASE["properties"], "id": {"anyOf": [STR, {"type": "null"}]}}, ["id", "count"])
    assert compatibility.incompatibilities(BASE, nullable) == ["id: type changed from string to null|string"]
    dated = _obj({**BASE["properties"], "id": {"type": "string", "format": "date-time"}}, ["id", "count"])
    assert compatibility.incompatibilities(BASE, dated) == ["id: string format changed from none to date-time"]


def _with_kind(values: list[str], nullable: bool = False) -> dict[str, Any]:
    """A pydantic-shaped schema: the enum lives in $defs and is referred to, possibly nullable."""
    ref: dict[str, Any] = {"$ref": "#/$defs/Kind"}
    kind = {"anyOf": [ref, {"type": "null"}]} if nullable else ref
    return {**_obj({"kind": kind}, ["kind"]), "$defs": {"Kind": {"type": "string", "enum": values}}}


def test_enum_narrowing_is_incompatible_and_widening_is_not() -> None:
    old = _with_kind(["enterprise", "university", "bank"])
    assert compatibility.incompatibilities(old, _with_kind(["enterprise", "bank"])) == [
        "kind: enum values removed: \"university\""]
    assert compatibility.incompatibilities(old, _with_kind(["enterprise", "university", "bank", "institute"])) == []
    assert compatibility.incompatibilities(_obj({"kind": STR}, ["kind"]), old) == [
        'kind: values newly restricted to "bank", "enterprise", "university"']
    # Under anyOf with null the enum still counts, so narrowing is still seen.
    assert compatibility.incompatibilities(_with_kind(["a", "b"], nullable=True), _with_kind(["a"], nullable=True)) == [
        'kind: enum values removed: "b"']


def test_nested_objects_and_array_items_are_compared() -> None:
    old = _obj({"address": {"$ref": "#/$defs/Address"}, "tags": {"type": "array", "items": STR}}, ["address"],
               **{"$defs": {"Address": _obj({"city": STR, "street": STR}, ["city"])}})
    new = _obj({"address": {"$ref": "#/$defs/Address"}, "tags": {"type": "array", "items": INT}}, ["address"],
               **{"$defs": {"Address": _obj({"city": STR}, ["city"])}})
    assert compatibility.incompatibilities(old, new) == [
        "address.street: property removed", "tags[]: type changed from string to integer"]


def test_a_removed_property_in_a_real_event_schema_is_caught() -> None:
    old = _load(f"services/registry/schemas/events/{REGISTERED}.json")
    new = json.loads(json.dumps(old))
    del new["properties"]["region_code"]
    new["required"].remove("region_code")
    new["$defs"]["OrganisationStatus"]["enum"].remove("deregistered")
    assert compatibility.incompatibilities(old, new) == [
        "region_code: property removed", 'status: enum values removed: "deregistered"']


# --- unaccepted(): the consumer's side ---------------------------------------------------------


def test_consumer_accepts_a_producer_that_sends_more_and_narrower() -> None:
    producer = _with_kind(["enterprise", "bank"])
    producer["properties"]["count"] = INT
    producer["required"].append("count")
    producer["properties"]["extra"] = STR
    consumer = _obj({"kind": STR, "count": {"type": "number"}}, ["kind", "count"])
    assert compatibility.unaccepted(consumer, producer) == []


def test_consumer_requirements_the_producer_does_not_meet() -> None:
    producer = _obj({"id": STR, "maybe": STR, "count": {"anyOf": [INT, {"type": "null"}]}}, ["id"])
    consumer = _obj({"id": INT, "maybe": STR, "count": INT, "absent": STR, "optional": STR},
                    ["id", "maybe", "count", "absent"])
    assert compatibility.unaccepted(consumer, producer) == [
        "absent: required by the consumer, missing in the producer's schema",
        "count: required by the consumer, optional in the producer's schema",
        "count: producer sends integer|null, consumer takes integer",
        "id: producer sends string, consumer takes integer",
        "maybe: required by the consumer, optional in the producer's schema",
    ]


def test_consumer_enum_must_cover_what_the_producer_sends() -> None:
    consumer = _with_kind(["enterprise"])
    assert compatibility.unaccepted(consumer, _with_kind(["enterprise", "bank"])) == [
        'kind: producer may send "bank", consumer does not take it']
    assert compatibility.unaccepted(consumer, _obj({"kind": STR}, ["kind"])) == [
        'kind: consumer takes only "enterprise", producer does not restrict values']
