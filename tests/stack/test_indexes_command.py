"""`python -m <service> indexes` (the api Deployment's init step in deploy/k8s) creates every index the
service declares, against the real FerretDB, and can run again."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from contracts.discovery import load_definition
from devstack.components import service_env
from devstack.layout import SERVICES, Profile
from devstack.stack import Stack
from pymongo import MongoClient

pytestmark = pytest.mark.stack


@pytest.mark.parametrize("service", SERVICES)
def test_the_indexes_command_creates_what_the_service_declares(service: str, infra: Stack,
                                                               test_profile: Profile) -> None:
    definition = load_definition(service)
    database = f"{service}_indexes_{uuid.uuid4().hex[:6]}"
    env = {**os.environ, **service_env(test_profile, service, mongo_db=database)}
    for _ in range(2):  # idempotent: a second run (the next rollout) changes nothing and succeeds
        done = subprocess.run([sys.executable, "-m", service, "indexes"], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
    client: MongoClient[dict[str, object]] = MongoClient(test_profile.mongo_url)
    try:
        db = client[database]
        for spec in definition.indexes:
            assert spec.name in db[spec.collection].index_information(), f"{spec.collection}.{spec.name}"
        client.drop_database(database)
    finally:
        client.close()
