"""Organisations shared by a module's deal tests (registering one through the registry takes a while)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from devstack.layout import Profile
from devstack.processes import ManagedProcess

from tests.stack.trading_deals.support import register_organisation


@dataclass(frozen=True)
class Cast:
    owner: str
    buyer: str
    rival: str
    outsider: str


@pytest.fixture(scope="module")
def cast(services: dict[str, ManagedProcess], test_profile: Profile) -> Cast:
    return Cast(owner=register_organisation(test_profile, "210200", "Dalian Membrane Tech Co., Ltd."),
                buyer=register_organisation(test_profile, "210100", "Shenyang Battery Works Co., Ltd."),
                rival=register_organisation(test_profile, "210300", "Anshan Energy Storage Co., Ltd."),
                outsider=register_organisation(test_profile, "210400", "Fushun Bystander Co., Ltd."))
