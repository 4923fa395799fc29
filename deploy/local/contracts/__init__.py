"""The services' published contracts, generated from code and kept in the repo, and checks on them.

Why: the services talk only through Kafka events and HTTP, so what they publish is a contract other
teams build against. The contract is generated from the code that actually runs (the pydantic event
payloads, the FastAPI apps, the declared topics and handlers) rather than written by hand, so it
cannot drift; it is committed, so a change to it shows up in review; and CI fails when

- a generated file is stale (someone changed a payload but did not regenerate): `check`;
- an event schema changed incompatibly with the committed one (a removed property, a newly required
  one, a changed type, enum values removed): `compat`, against `git HEAD`;
- a consumer requires a field its producer does not provide, or reads it with another type:
  `consumers`.

This is repository tooling, not part of the services' runtime kit (`servicekit`): the services never
import it. It finds the services through the `ipo_platform.services` entry points their
`pyproject.toml` files declare. One module per job:

- `contracts.discovery`: the installed services, the events each publishes and receives;
- `contracts.event_schemas`: the JSON Schema of each event payload;
- `contracts.asyncapi`: the AsyncAPI 3.0 document of each service's topics;
- `contracts.files`: every generated file, written to or compared with `services/<service>/schemas/`
  (`events/<event type>.json`, `asyncapi.json`, `openapi.json`);
- `contracts.compatibility`: pure comparisons of two schemas (evolution, producer against consumer);
- `contracts.repository`: those comparisons applied to the repository and its git HEAD;
- `contracts.cli`: the command line.

Run from the repository root:

    python -m contracts write      # regenerate the files
    python -m contracts check      # fail (exit 1) with a diff summary when any is stale
    python -m contracts compat     # fail when an event schema changed incompatibly vs HEAD
    python -m contracts consumers  # fail when a consumer needs what its producer lacks
"""
