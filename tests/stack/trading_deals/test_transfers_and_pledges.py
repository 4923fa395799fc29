"""Transfers and pledges through the real API: co-owner consent, registration and release, a pledge
blocking a transfer, and a registered assignment moving the patent's listings to the new owner."""

from __future__ import annotations

import httpx
import pytest
from devstack.layout import Profile

from tests.stack.trading_deals.conftest import Cast
from tests.stack.trading_deals.support import (
    Json,
    accepted_negotiation,
    if_match,
    officer,
    open_negotiation,
    party,
    published_listing,
    register_organisation,
    sign,
    terms,
    url,
)

pytestmark = pytest.mark.stack


def request_pledge(profile: Profile, owner: str, listing: Json, bank: str, amount: int = 80_000_000) -> Json:
    response = httpx.post(url(profile, "/v1/pledges"), json={"listing_id": listing["id"],
                                                             "pledgee_organisation_id": bank, "amount_fen": amount},
                          headers={**party(profile, owner), "Idempotency-Key": f"pledge-{listing['id']}"})
    assert response.status_code == 201, response.text
    result: Json = response.json()
    return result


def post(profile: Profile, path: str, headers: dict[str, str], document: Json,
         body: Json | None = None) -> httpx.Response:
    return httpx.post(url(profile, path), json=body or {}, headers={**headers, **if_match(document)})


def test_pledge_needs_every_co_owner_and_blocks_transfer_until_released(cast: Cast, test_profile: Profile) -> None:
    bank = register_organisation(test_profile, "210200", "Bank of Dalian")
    co_owner = register_organisation(test_profile, "210100", "Northeastern University")
    listing = published_listing(test_profile, cast.owner, co_owners=(co_owner, cast.rival))
    pledge = request_pledge(test_profile, cast.owner, listing, bank)
    assert pledge["status"] == "requested"
    assert pledge["missing_consents"] == sorted([co_owner, cast.rival])
    path = f"/v1/pledges/{pledge['id']}"
    assert httpx.get(url(test_profile, path), headers=party(test_profile, cast.outsider)).status_code == 404
    # The same request retried with its Idempotency-Key creates nothing twice.
    retried = httpx.post(url(test_profile, "/v1/pledges"),
                         json={"listing_id": listing["id"], "pledgee_organisation_id": bank, "amount_fen": 80_000_000},
                         headers={**party(test_profile, cast.owner), "Idempotency-Key": f"pledge-{listing['id']}"})
    assert retried.status_code == 200 and retried.json()["id"] == pledge["id"]

    early = post(test_profile, f"{path}/registration", officer(test_profile), pledge)
    assert early.status_code == 409 and "missing" in early.json()["detail"] and co_owner in early.json()["detail"]
    stranger = post(test_profile, f"{path}/consents", party(test_profile, cast.outsider), pledge)
    assert stranger.status_code == 404  # not a party: it does not exist for them
    by_buyer_party = post(test_profile, f"{path}/consents", party(test_profile, bank), pledge)
    assert by_buyer_party.status_code == 409 and "not a co-owner" in by_buyer_party.json()["detail"]
    one = post(test_profile, f"{path}/consents", party(test_profile, co_owner), pledge)
    assert one.status_code == 200 and one.json()["missing_consents"] == [cast.rival]
    still = post(test_profile, f"{path}/registration", officer(test_profile), one.json())
    assert still.status_code == 409 and cast.rival in still.json()["detail"]
    both = post(test_profile, f"{path}/consents", party(test_profile, cast.rival), one.json())
    assert both.status_code == 200 and both.json()["missing_consents"] == []
    by_owner = post(test_profile, f"{path}/registration", party(test_profile, cast.owner), both.json())
    assert by_owner.status_code == 403  # the office registers
    registered = post(test_profile, f"{path}/registration", officer(test_profile), both.json())
    assert registered.status_code == 200 and registered.json()["status"] == "registered"

    # While the pledge is in force the patent cannot be assigned.
    negotiation = accepted_negotiation(test_profile, cast.owner, cast.buyer, listing, terms("assignment",
                                                                                              fee=200_000_000))
    blocked = sign(test_profile, cast.buyer, negotiation)
    assert blocked.status_code == 409, blocked.text
    assert blocked.json()["blocking_pledge_id"] == pledge["id"] and pledge["id"] in blocked.json()["detail"]

    not_bank = post(test_profile, f"{path}/release", party(test_profile, cast.buyer), registered.json())
    assert not_bank.status_code == 404
    released = post(test_profile, f"{path}/release", party(test_profile, bank), registered.json())
    assert released.status_code == 200 and released.json()["status"] == "released"

    signed = sign(test_profile, cast.buyer, negotiation)
    assert signed.status_code == 201, signed.text
    assert signed.json()["kind"] == "transfer"


def test_a_pledge_registered_after_the_assignment_blocks_its_registration(cast: Cast, test_profile: Profile) -> None:
    bank = register_organisation(test_profile, "210200", "Bank of Jinzhou")
    listing = published_listing(test_profile, cast.owner)
    negotiation = accepted_negotiation(test_profile, cast.owner, cast.buyer, listing, terms("assignment",
                                                                                              fee=150_000_000))
    signed = sign(test_profile, cast.owner, negotiation)
    assert signed.status_code == 201, signed.text
    transfer_path = signed.json()["href"]
    transfer = httpx.get(url(test_profile, transfer_path), headers=party(test_profile, cast.buyer)).json()
    assert transfer["status"] == "applied" and transfer["price_fen"] == 150_000_000

    pledge = request_pledge(test_profile, cast.owner, listing, bank)  # sole owner: no consent needed
    registered = post(test_profile, f"/v1/pledges/{pledge['id']}/registration", officer(test_profile), pledge)
    assert registered.status_code == 200, registered.text

    refused = post(test_profile, f"{transfer_path}/registration", officer(test_profile), transfer)
    assert refused.status_code == 409 and refused.json()["blocking_pledge_id"] == pledge["id"]
    assert httpx.get(url(test_profile, f"/v1/listings/{listing['id']}")).json()["owner_organisation_id"] == cast.owner

    released = post(test_profile, f"/v1/pledges/{pledge['id']}/release", officer(test_profile), registered.json())
    assert released.status_code == 200
    by_party = post(test_profile, f"{transfer_path}/registration", party(test_profile, cast.owner), transfer)
    assert by_party.status_code == 403
    done = post(test_profile, f"{transfer_path}/registration", officer(test_profile), transfer,
                {"reference": "ZR2026-123"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "registered"
    # The assignment took effect: the listing follows the new owner and is closed.
    moved = httpx.get(url(test_profile, f"/v1/listings/{listing['id']}"), headers=party(test_profile, cast.buyer))
    assert moved.status_code == 200, moved.text
    assert moved.json()["owner_organisation_id"] == cast.buyer
    assert moved.json()["status"] == "closed"
    # Registering again (a retry with the old ETag) is a precondition failure, not a second registration.
    assert post(test_profile, f"{transfer_path}/registration", officer(test_profile), transfer).status_code == 412


def test_negotiations_with_the_former_owner_cannot_become_deals(cast: Cast, test_profile: Profile) -> None:
    """After a registered assignment the former owner can no longer license or assign the patent: its
    other negotiations on it can still be ended, but not accepted, countered or signed."""
    listing = published_listing(test_profile, cast.owner)
    opened = open_negotiation(test_profile, cast.rival, listing, terms("ordinary_licence"))
    assert opened.status_code == 201, opened.text
    still_open = opened.json()
    agreed = accepted_negotiation(test_profile, cast.owner, cast.outsider, listing, terms("ordinary_licence"))
    assignment = accepted_negotiation(test_profile, cast.owner, cast.buyer, listing, terms("assignment",
                                                                                             fee=90_000_000))
    signed = sign(test_profile, cast.owner, assignment)
    assert signed.status_code == 201, signed.text
    transfer = httpx.get(url(test_profile, signed.json()["href"]), headers=party(test_profile, cast.buyer)).json()
    done = post(test_profile, f"{signed.json()['href']}/registration", officer(test_profile), transfer)
    assert done.status_code == 200, done.text

    for refused in (sign(test_profile, cast.outsider, agreed),
                    post(test_profile, f"/v1/negotiations/{still_open['id']}/acceptance",
                         party(test_profile, cast.owner), still_open)):
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("/owner-changed")
        assert refused.json()["current_owner_organisation_id"] == cast.buyer
    withdrawn = post(test_profile, f"/v1/negotiations/{still_open['id']}/withdrawal",
                     party(test_profile, cast.rival), still_open)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn", withdrawn.text


def test_parties_and_officers_list_transfers_and_pledges(cast: Cast, test_profile: Profile) -> None:
    bank = register_organisation(test_profile, "210200", "Bank of Yingkou")
    listing = published_listing(test_profile, cast.owner)
    number = listing["application_number"]
    pledge = request_pledge(test_profile, cast.owner, listing, bank)
    assignment = accepted_negotiation(test_profile, cast.owner, cast.buyer, listing, terms("assignment",
                                                                                             fee=60_000_000))
    transfer_id = sign(test_profile, cast.owner, assignment).json()["id"]

    def ids(path: str, organisation: str | None, **params: str) -> list[str]:
        headers = party(test_profile, organisation) if organisation else officer(test_profile)
        response = httpx.get(url(test_profile, path), headers=headers, params={"application_number": number, **params})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    for organisation in (cast.owner, cast.buyer, None):
        assert ids("/v1/transfers", organisation) == [transfer_id], organisation
    assert ids("/v1/transfers", cast.outsider) == [], "not a party: not listed"
    assert ids("/v1/transfers", None, status="applied") == [transfer_id]
    assert ids("/v1/transfers", None, status="registered") == []
    for organisation in (cast.owner, bank, None):
        assert ids("/v1/pledges", organisation) == [pledge["id"]], organisation
    assert ids("/v1/pledges", cast.buyer) == []
    assert ids("/v1/pledges", None, status="requested") == [pledge["id"]]
    assert ids("/v1/pledges", None, status="registered") == []
    bad = httpx.get(url(test_profile, "/v1/pledges"), headers=officer(test_profile), params={"status": "lost"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
