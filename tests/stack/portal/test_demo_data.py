"""The demo dataset loads through the APIs and, loaded again, creates nothing twice."""

from __future__ import annotations

import httpx
import pytest
from devstack import demo
from devstack.layout import Profile
from devstack.processes import ManagedProcess

from tests.stack.trading_catalogue.support import indexed, participant
from tests.support.stack import api_url

pytestmark = pytest.mark.stack


def test_demo_data_loads_once(services: dict[str, ManagedProcess], test_profile: Profile) -> None:
    first = demo.load(test_profile, listings=16, report=lambda _: None)
    again = demo.load(test_profile, listings=16, report=lambda _: None)
    assert first["listings"] == 16 and first["published"] == 16
    assert again == {"organisations": 0, "listings": 0, "published": 0, "fairs": 0}
    owner = demo.ORGANISATIONS[0].code
    mine = httpx.get(f"{api_url(test_profile, 'trading')}/v1/listings/mine", headers=participant(test_profile, owner),
                     timeout=15).json()["items"]
    assert len(mine) == 2 and all(item["status"] == "published" for item in mine)  # 16 listings over 8 owners
    indexed(test_profile)
    found = httpx.get(f"{api_url(test_profile, 'trading')}/v1/listings", params={"q": "锂离子电池"}, timeout=15)
    assert found.status_code == 200 and found.json()["items"]
