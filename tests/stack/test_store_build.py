"""The local store is FerretDB built with our overlays (deploy/local/ferretdb/overlay), among them the one
without its resource tracking: a leak detector that recorded a stack for every iterator and transaction,
11% of the store's CPU under the publish benchmark. FerretDB's own tracking files every tracked kind in
a pprof profile named `FerretDB/<type>`, listed on the profiler's index; none may appear once the store
has served queries."""

from __future__ import annotations

import httpx
import pytest
from devstack.components import FERRETDB_OVERLAYS_ENV, chosen_overlays
from devstack.layout import Profile
from pymongo import MongoClient

pytestmark = pytest.mark.stack


def test_the_store_serves_queries_without_resource_tracking(mongo: MongoClient[dict[str, object]],
                                                             test_profile: Profile) -> None:
    if "resource" not in chosen_overlays():
        pytest.fail(f"{FERRETDB_OVERLAYS_ENV} asks for FerretDB's own resource tracking; unset it for the tests")
    scratch = mongo[f"scratch_{test_profile.name}"]["resource_tracking"]
    scratch.insert_one({"probe": 1})
    scratch.update_one({"probe": 1}, {"$set": {"seen": True}})
    assert scratch.find_one({"probe": 1}, {"_id": 0}) == {"probe": 1, "seen": True}
    index = httpx.get(f"http://127.0.0.1:{test_profile.ports.ferretdb_metrics}/debug/pprof/", timeout=10)
    assert index.status_code == 200
    assert "FerretDB/" not in index.text, "the store tracks its resources: built without the overlay?"
