"""servicekit.mongo_wire replaces two of PyMongo's private functions, so it is tied to the PyMongo it was
written against; these checks make an upgrade of PyMongo stop here until the module is checked against
the new code (its stack test: tests/stack/test_store_wire.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pymongo
import pytest
from pymongo import network_layer
from pymongo.asynchronous import network, pool
from servicekit import mongo_wire


@pytest.fixture(autouse=True)
def restore() -> Iterator[None]:
    before = mongo_wire.in_use()
    yield
    mongo_wire.use(before)


def test_the_locked_pymongo_is_the_one_the_lean_calls_were_written_against() -> None:
    assert pymongo.version == mongo_wire.PYMONGO_VERSION, (
        f"PyMongo is {pymongo.version}; servicekit.mongo_wire was written against {mongo_wire.PYMONGO_VERSION}. "
        "Compare its send/receive with network_layer.async_sendall/async_receive_message of the new version "
        "(time limits, cancellation, callers), then update PYMONGO_VERSION, or delete the module if PyMongo "
        "no longer makes tasks per call.")


def test_use_routes_both_callers_and_restores_pymongos_own() -> None:
    assert mongo_wire.use(True)
    for module in (network, pool):
        assert module.async_sendall is mongo_wire.send
        assert module.async_receive_message is mongo_wire.receive
    assert not mongo_wire.use(False)
    for module in (network, pool):
        assert module.async_sendall is network_layer.async_sendall
        assert module.async_receive_message is network_layer.async_receive_message


def test_another_pymongo_runs_as_published(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(pymongo, "version", "9.9.9")
    assert not mongo_wire.use(True)
    assert not mongo_wire.in_use()
    assert "9.9.9" in caplog.text
