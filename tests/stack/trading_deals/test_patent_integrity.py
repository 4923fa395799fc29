"""Issue 11 against the real stack: only a patent's verified owner lists, licenses, assigns or pledges
it; one open listing per patent whatever way its number is written; nested IPC subgroups overlap for
exclusivity; the term derived from the law; an open licence taken by notice; fairs validated."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from devstack.layout import Profile
from trading.patents.identifiers import IdentifierError, normalise_application_number

from tests.stack.trading_deals.conftest import Cast
from tests.stack.trading_deals.support import (
    accepted_negotiation,
    application_number,
    if_match,
    licence_from,
    officer,
    party,
    published_listing,
    sign,
    terms,
    trading_events,
    url,
)
from tests.support.patents import claim, verified_owner, verify
from tests.support.stack import eventually

pytestmark = pytest.mark.stack

Json = dict[str, Any]
EX, SOLE, ORD = "exclusive_licence", "sole_licence", "ordinary_licence"


def _year(number: str) -> str:
    try:
        return normalise_application_number(number)[:4]
    except IdentifierError:
        return "2022"


def listing_body(number: str, **overrides: Any) -> Json:
    body: Json = {"application_number": number, "patent_kind": "invention", "title": "锂离子电池负极材料",
                  "ipc_codes": ["H01M 4/13"], "industry": "new_energy", "region_code": "210200",
                  "legal_status": "granted", "filing_date": f"{_year(number)}-03-01",
                  "deal_types": [EX, ORD], **overrides}
    return body


def create(profile: Profile, organisation: str, body: Json) -> httpx.Response:
    return httpx.post(url(profile, "/v1/listings"), json=body, headers=party(profile, organisation))


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def test_a_strangers_claim_is_refused_and_the_owners_licence_goes_through(cast: Cast, test_profile: Profile) -> None:
    number = application_number()
    draft = create(test_profile, cast.owner, listing_body(number))
    assert draft.status_code == 201, draft.text
    # Until the claim is verified, nothing is published.
    early = httpx.post(url(test_profile, f"/v1/listings/{draft.json()['id']}/publication"),
                       headers={**party(test_profile, cast.owner), **if_match(draft.json())})
    assert early.status_code == 409 and early.json()["type"].endswith("/ownership-not-verified"), early.text
    verified_owner(test_profile, cast.owner, number)

    stranger = claim(test_profile, cast.outsider, f"ZL{number}")
    assert stranger.status_code == 409, stranger.text
    assert stranger.json()["type"].endswith("/registered-to-another-owner")
    assert cast.owner not in stranger.text and "第1234567号" not in stranger.text, "nothing private leaks"
    refused = create(test_profile, cast.outsider, listing_body(f"CN{number}"))
    assert refused.status_code == 409 and refused.json()["type"].endswith("/registered-to-another-owner")

    published = httpx.post(url(test_profile, f"/v1/listings/{draft.json()['id']}/publication"),
                           headers={**party(test_profile, cast.owner), **if_match(draft.json())})
    assert published.status_code == 200, published.text
    signed = licence_from(test_profile, cast.owner, cast.buyer, published.json(), terms(ORD))
    assert signed.status_code == 201, signed.text


def test_contested_claims_wait_in_the_officers_queue(cast: Cast, test_profile: Profile) -> None:
    number = application_number()
    first = claim(test_profile, cast.owner, number)
    assert first.status_code == 201 and first.json()["claims"][0]["contested"] is False, first.text
    assert first.json()["verified"] is False and first.json()["deals"] is None
    again = claim(test_profile, cast.owner, number)
    assert again.status_code == 200, "the same claim again changes nothing"
    second = claim(test_profile, cast.rival, number, owners=["鞍山储能有限公司"])
    assert second.status_code == 201 and second.json()["claims"][0]["contested"] is True, second.text
    assert [c["organisation_id"] for c in second.json()["claims"]] == [cast.rival], "each sees only its own claim"
    mine = httpx.get(url(test_profile, f"/v1/patents/{number}"), headers=party(test_profile, cast.owner))
    assert mine.json()["claims"][0]["contested"] is True, "the first claimant is told too"

    queue = httpx.get(url(test_profile, "/v1/patents/claim-queue"), headers=officer(test_profile))
    assert queue.status_code == 200, queue.text
    entry = next(i for i in queue.json()["items"] if i["application_number"] == number.replace(".", ""))
    assert entry["contested"] is True and sorted(entry["claimants"]) == sorted([cast.owner, cast.rival])
    assert httpx.get(url(test_profile, "/v1/patents/claim-queue"),
                     headers=party(test_profile, cast.owner)).status_code == 403

    no_reason = httpx.post(url(test_profile, f"/v1/patents/{number}/claims/{cast.rival}/rejection"), json={},
                           headers=officer(test_profile))
    assert no_reason.status_code == 422
    decided = verify(test_profile, cast.owner, number)
    assert decided.status_code == 200 and decided.json()["owner_organisation_id"] == cast.owner, decided.text
    statuses = {c["organisation_id"]: c["status"] for c in decided.json()["claims"]}
    assert statuses == {cast.owner: "verified", cast.rival: "rejected"}
    after = httpx.get(url(test_profile, "/v1/patents/claim-queue"), headers=officer(test_profile)).json()
    assert number.replace(".", "") not in [i["application_number"] for i in after["items"]]

    def announced() -> bool:
        kinds = {(e["type"].split(".trading.")[1], e["data"].get("owner_organisation_id") or
                  e["data"].get("organisation_id")) for e in trading_events(test_profile)
                 if e["subject"] == number.replace(".", "")}
        return {("patent.ownership_verified.v1", cast.owner), ("patent.claim_rejected.v1", cast.rival)} <= kinds
    eventually(announced, what="patent.ownership_verified and patent.claim_rejected on trading.events")


def test_the_owner_reads_the_licence_that_blocks_it(cast: Cast, test_profile: Profile) -> None:
    """An exclusive licence granted by the former owner stays on the patent after an assignment; the new
    owner's own licence inside it is refused naming it, and the new owner may read it."""
    listing = published_listing(test_profile, cast.owner, deal_types=(EX, "assignment"))
    exclusive = licence_from(test_profile, cast.owner, cast.buyer, listing, terms(EX, territories=("CN",)))
    assert exclusive.status_code == 201, exclusive.text
    signed = sign(test_profile, cast.rival, accepted_negotiation(test_profile, cast.owner, cast.rival, listing,
                                                                 terms("assignment")))
    assert signed.status_code == 201, signed.text
    transfer = httpx.get(url(test_profile, signed.json()["href"]), headers=officer(test_profile)).json()
    registered = httpx.post(url(test_profile, f"{signed.json()['href']}/registration"),
                            headers={**officer(test_profile), **if_match(transfer)})
    assert registered.status_code == 200, registered.text
    patent = httpx.get(url(test_profile, f"/v1/patents/{listing['application_number']}"),
                       headers=party(test_profile, cast.rival)).json()
    assert patent["owner_organisation_id"] == cast.rival
    assert exclusive.json()["id"] in patent["deals"]["licences"]

    relisted = create(test_profile, cast.rival, listing_body(listing["application_number"], deal_types=[ORD]))
    assert relisted.status_code == 201, relisted.text
    published = httpx.post(url(test_profile, f"/v1/listings/{relisted.json()['id']}/publication"),
                           headers={**party(test_profile, cast.rival), **if_match(relisted.json())})
    assert published.status_code == 200, published.text
    blocked = licence_from(test_profile, cast.rival, cast.outsider, published.json(), terms(ORD))
    assert blocked.status_code == 409, blocked.text
    assert blocked.json()["conflicting_licence_id"] == exclusive.json()["id"]
    readable = httpx.get(url(test_profile, blocked.json()["conflicting_licence"]),
                         headers=party(test_profile, cast.rival))
    assert readable.status_code == 200 and readable.json()["licensee_organisation_id"] == cast.buyer
    listed = httpx.get(url(test_profile, "/v1/licences"), headers=party(test_profile, cast.rival),
                       params={"application_number": f"ZL{listing['application_number'][:12]}."
                                                     f"{listing['application_number'][12]}"})
    assert exclusive.json()["id"] in [lic["id"] for lic in listed.json()["items"]]
    assert httpx.get(url(test_profile, blocked.json()["conflicting_licence"]),
                     headers=party(test_profile, cast.outsider)).status_code == 404


def test_one_open_listing_per_patent_in_any_written_form(cast: Cast, test_profile: Profile) -> None:
    number = application_number()
    first = create(test_profile, cast.owner, listing_body(number))
    assert first.status_code == 201, first.text
    for form in (f"ZL{number}", f"CN {number}", number.replace(".", ""), full_width(f"ZL{number}")):
        again = create(test_profile, cast.owner, listing_body(form, deal_types=["assignment"]))
        assert again.status_code == 409, (form, again.text)
        assert again.json()["open_listing_id"] == first.json()["id"] and first.json()["id"] in again.json()["detail"]
    withdrawn = httpx.post(url(test_profile, f"/v1/listings/{first.json()['id']}/withdrawal"),
                           headers={**party(test_profile, cast.owner), **if_match(first.json())})
    assert withdrawn.status_code == 200
    assert create(test_profile, cast.owner, listing_body(f"ZL{number}")).status_code == 201, "free once withdrawn"
    bad = httpx.get(url(test_profile, "/v1/licences"), headers=officer(test_profile),
                    params={"application_number": "98112345.6"})
    assert bad.status_code == 422 and "before October 2003" in bad.text


def test_a_nested_subgroup_exclusive_is_refused(cast: Cast, test_profile: Profile) -> None:
    listing = published_listing(test_profile, cast.owner, deal_types=(EX,))
    outer = licence_from(test_profile, cast.owner, cast.buyer, listing, terms(EX, fields=("H01M 4/13",)))
    assert outer.status_code == 201, outer.text
    inner = licence_from(test_profile, cast.owner, cast.rival, listing, terms(EX, fields=("H01M 4/133",)))
    assert inner.status_code == 409, inner.text
    assert inner.json()["conflicting_licence_id"] == outer.json()["id"]
    assert "an exclusive licence may not overlap" in inner.json()["detail"]


def test_the_term_comes_from_the_law(cast: Cast, test_profile: Profile) -> None:
    number = application_number()  # an invention filed in 2022: in force to 2042-02-28 at the latest
    too_long = create(test_profile, cast.owner, listing_body(number, expires_on="2045-01-01"))
    assert too_long.status_code == 422, too_long.text
    assert "2042-02-28" in too_long.json()["detail"] and too_long.json()["errors"][0]["pointer"] == "#/expires_on"
    wrong_year = create(test_profile, cast.owner, listing_body(number, filing_date="2005-03-01"))
    assert wrong_year.status_code == 422 and "filed in 2022" in wrong_year.json()["detail"]
    old = create(test_profile, cast.owner, listing_body("98112345.6"))
    assert old.status_code == 422 and "before October 2003" in old.text and "Value error" not in old.text
    computed = create(test_profile, cast.owner, listing_body(number))
    assert computed.status_code == 201 and computed.json()["expires_on"] == "2042-02-28", computed.text
    extended = httpx.post(url(test_profile, f"/v1/patents/{number}/term-extensions"), headers=officer(test_profile),
                          json={"days": 100, "legal_basis": "patent_law_art_42_2", "reference": "CNIPA-2026-001"})
    assert extended.status_code == 200 and extended.json()["term_extensions"][0]["days"] == 100, extended.text
    later = httpx.patch(url(test_profile, f"/v1/listings/{computed.json()['id']}"), json={"expires_on": "2042-06-08"},
                        headers={**party(test_profile, cast.owner), **if_match(computed.json())})
    assert later.status_code == 200, later.text
    beyond = httpx.patch(url(test_profile, f"/v1/listings/{computed.json()['id']}"),
                         json={"expires_on": "2042-06-09"},
                         headers={**party(test_profile, cast.owner), **if_match(later.json())})
    assert beyond.status_code == 422 and "2042-06-08" in beyond.json()["detail"], beyond.text


def test_an_open_licence_is_taken_by_notice(cast: Cast, test_profile: Profile) -> None:
    number = application_number()
    open_listing = published_listing(test_profile, cast.owner, number=number, deal_types=("open_licence", ORD),
                                     open_licence_terms="3% of net sales, no upfront fee",
                                     open_licence_royalty_rate_percent="3")
    notice = {"application_number": f"ZL{number}"}
    taken = httpx.post(url(test_profile, "/v1/licences/open-licence-notices"), json=notice,
                       headers=party(test_profile, cast.buyer))
    assert taken.status_code == 201, taken.text
    licence = taken.json()
    assert licence["taken_by_notice"] is True and licence["licence_type"] == ORD
    assert licence["licensor_organisation_id"] == cast.owner and licence["royalty_rate_percent"] == "3"
    assert licence["scope"]["term_end"] == open_listing["expires_on"]
    assert licence["recordal"]["status"] == "pending"
    again = httpx.post(url(test_profile, "/v1/licences/open-licence-notices"), json=notice,
                       headers=party(test_profile, cast.buyer))
    assert again.status_code == 200 and again.json()["id"] == licence["id"]
    filed = httpx.post(url(test_profile, f"/v1/licences/{licence['id']}/recordal"), json={"status": "filed"},
                       headers={**party(test_profile, cast.buyer), **if_match(licence)})
    assert filed.status_code == 200, filed.text
    period = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    report = httpx.post(url(test_profile, f"/v1/licences/{licence['id']}/royalty-reports"),
                        json={"period": period, "net_sales_fen": 1_000_000}, headers=party(test_profile, cast.buyer))
    assert report.status_code in (201, 422), report.text  # 422 only when the term starts this month
    negotiated = httpx.post(url(test_profile, "/v1/negotiations"), headers=party(test_profile, cast.rival),
                            json={"listing_id": open_listing["id"], "terms": terms("open_licence"),
                                  "valid_until": "2099-01-01T00:00:00Z"})
    assert negotiated.status_code == 422 and "open-licence-notices" in negotiated.text
    # An exclusive offer on the open-licensed patent is refused when it is created, not at signing.
    exclusive = create(test_profile, cast.owner, listing_body(number, deal_types=[EX]))
    assert exclusive.status_code == 409, exclusive.text
    assert exclusive.json()["type"].endswith("/open-licence-excludes-exclusive")
    none = httpx.post(url(test_profile, "/v1/licences/open-licence-notices"), headers=party(test_profile, cast.buyer),
                      json={"application_number": application_number()})
    assert none.status_code == 409 and none.json()["type"].endswith("/no-open-licence")


@pytest.mark.parametrize(("changes", "pointer"), [
    ({"region_code": "990000"}, "#/region_code"),
    ({"region_code": "210299"}, "#/region_code"),
    ({"starts_on": "0383-12-22", "ends_on": "1844-02-17"}, "#/starts_on"),
    ({"ends_on": "2101-01-01"}, "#/ends_on"),
    ({"name": "Patent fair\u0007 2027"}, "#/name"),
    ({"venue": "Dalian\u202eExpo"}, "#/venue"),
])
def test_fairs_refuse_what_does_not_exist(cast: Cast, test_profile: Profile, changes: Json, pointer: str) -> None:
    body = {"name": "China International Patent Fair", "venue": "Dalian World Expo Center", "region_code": "210200",
            "starts_on": "2027-09-01", "ends_on": "2027-09-03", **changes}
    refused = httpx.post(url(test_profile, "/v1/fairs"), json=body, headers=officer(test_profile))
    assert refused.status_code == 422, refused.text
    assert pointer in [e.get("pointer") for e in refused.json()["errors"]]
    assert "Value error" not in refused.text


def test_a_fair_ending_before_it_starts_is_refused(cast: Cast, test_profile: Profile) -> None:
    body = {"name": "China International Patent Fair", "venue": "Dalian World Expo Center", "region_code": "210200",
            "starts_on": "2027-09-03", "ends_on": "2027-09-01"}
    refused = httpx.post(url(test_profile, "/v1/fairs"), json=body, headers=officer(test_profile))
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "#/ends_on", refused.text
