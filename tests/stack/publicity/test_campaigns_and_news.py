"""Publicity across services, through the real processes, Kafka and FerretDB (flows 2 and 4 of
ARCHITECTURE section 3):

- a campaign lists the fairs and training sessions whose dates fall inside its own (publicity's
  projections of trading's fair and training's session events), an officer pins and unpins; a fair
  closing moves the campaign's figures;
- a licence signed at the fair with both parties' consent -> a news draft naming them (Chinese and
  English) -> review -> published -> in the Atom and JSON feeds; a transfer without consent -> an
  anonymous draft; one draft per milestone however often its event is delivered;
- the fair's closing -> a draft with its figures.

Run with IPO_TEST_SERVICES=registry,trading,training,publicity (the registry feeds both projections of
the organisations; training schedules the sessions)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import feedparser
import httpx
import pytest
from devstack.layout import Profile

from tests.stack.publicity.helpers import act, base, officer, ok
from tests.stack.trading_deals.conftest import Cast, cast  # noqa: F401  (the module's organisations)
from tests.stack.trading_deals.support import (
    Json,
    accepted_negotiation,
    if_match,
    party,
    plan_fair,
    published_listing,
    sign,
    terms,
    url,
)
from tests.stack.trading_deals.support import officer as trading_officer
from tests.support.kafka import consumed, publish_events, read_events
from tests.support.stack import api_url, eventually, token

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("store_scans_checked")]


def campaign_page(p: Profile, campaign_id: str) -> Json:
    return ok(httpx.get(f"{base(p)}/v1/campaigns/{campaign_id}"))


def draft_of(p: Profile, release_id: str) -> Json | None:
    response = httpx.get(f"{base(p)}/v1/releases/{release_id}", headers=officer(p, "jane"))
    return response.json() if response.status_code == 200 else None


def consent(p: Profile, organisation: str, negotiation: Json) -> Json:
    current = httpx.get(url(p, f"/v1/negotiations/{negotiation['id']}"), headers=party(p, organisation)).json()
    stated = httpx.post(url(p, f"/v1/negotiations/{negotiation['id']}/publicity-consent"), json={"consent": True},
                        headers={**party(p, organisation), **if_match(current)})
    assert stated.status_code == 200, stated.text
    body: Json = stated.json()
    return body


def test_campaign_fairs_deals_and_news(cast: Cast, test_profile: Profile) -> None:  # noqa: F811
    p = test_profile
    today = date.today()
    campaign = ok(httpx.post(f"{base(p)}/v1/campaigns", headers=officer(p, "kate"), json={
        "name": "4.26 IP Publicity Week", "theme": "全面加强知识产权保护", "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=6)).isoformat(),
        "organisers": ["Liaoning Intellectual Property Office"]}), 201)
    campaign = act_on_campaign(p, campaign, "opening")
    assert campaign["status"] == "open"

    # Flow 4: the fair trading opens inside the campaign's dates is listed on the campaign's page.
    fair = plan_fair(p, "Liaoning Patent Fair for the Publicity Week")
    eventually(lambda: any(i["id"] == fair["id"] for i in campaign_page(p, campaign["id"])["items"]),
               timeout=30, what="the fair on the campaign's page")
    # ... and so are training's sessions inside its dates (publicity's projection of session.scheduled);
    # one a month later is not.
    training = api_url(p, "training")
    base_coordinator = {"Authorization": f"Bearer {token(p, 'coordinator-week', 'coordinator', org=cast.owner)}"}
    course = ok(httpx.post(f"{training}/v1/courses", headers=base_coordinator, json={
        "title": "IP basics for the Publicity Week", "audience": "engineers", "credit_hours": "4",
        "modules": [{"title": "What a patent is", "hours": "4"}], "categories": []}), 201)
    sessions = []
    for days in (1, 30):
        starts = datetime.now(UTC) + timedelta(days=days)
        sessions.append(ok(httpx.post(f"{training}/v1/courses/{course['id']}/sessions", headers=base_coordinator,
                                      json={"starts_at": starts.isoformat(),
                                            "ends_at": (starts + timedelta(hours=3)).isoformat(),
                                            "venue": "Dalian Library", "capacity": 40}), 201))
    inside, outside = sessions
    eventually(lambda: any(i["id"] == inside["id"] for i in campaign_page(p, campaign["id"])["items"]),
               timeout=30, what="the session on the campaign's page")
    consumed(p, "publicity-worker", "training.events")
    page = campaign_page(p, campaign["id"])
    # (Other tests' sessions in the same week may be listed too: the stack is shared.)
    assert outside["id"] not in [i["id"] for i in page["items"]] and page["totals"]["sessions"] >= 1
    # Rescheduled into the week (training's session.updated), the other session joins the page; moved out
    # again, it leaves.
    for days, listed in ((2, True), (30, False)):
        starts = datetime.now(UTC) + timedelta(days=days)
        outside = ok(httpx.patch(f"{training}/v1/sessions/{outside['id']}", headers={
            **base_coordinator, "If-Match": f'"{outside["version"]}"'}, json={
            "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=3)).isoformat()}), 200)
        session_id: str = outside["id"]

        def rescheduled(listed: bool = listed, session_id: str = session_id) -> bool:
            return (session_id in [i["id"] for i in campaign_page(p, campaign["id"])["items"]]) is listed

        eventually(rescheduled, timeout=30, what=f"the rescheduled session listed={listed}")
    campaign = act_on_campaign(p, campaign, "pins", {"kind": "session", "item_id": outside["id"], "shown": True})
    assert outside["id"] in [i["id"] for i in campaign_page(p, campaign["id"])["items"]]

    campaign = act_on_campaign(p, campaign, "pins", {"kind": "fair", "item_id": fair["id"], "shown": False})
    assert all(i["id"] != fair["id"] for i in campaign_page(p, campaign["id"])["items"])
    campaign = act_on_campaign(p, campaign, "pins", {"kind": "fair", "item_id": fair["id"], "shown": True})
    page = campaign_page(p, campaign["id"])
    assert [i["pinned"] for i in page["items"] if i["id"] == fair["id"]] == [True]
    before = page["totals"]
    assert before["fair_deals"] == 0

    # Flow 2: a licence signed at the fair, both parties consenting -> a named draft.
    listing = published_listing(p, cast.owner)
    negotiation = accepted_negotiation(p, cast.owner, cast.buyer, listing, terms(fee=5_000_000), fair_id=fair["id"])
    consent(p, cast.owner, negotiation)
    negotiation = consent(p, cast.buyer, negotiation)
    assert negotiation["publicity_consent"] == {"owner": True, "counterparty": True}
    signed = sign(p, cast.buyer, negotiation)
    assert signed.status_code == 201, signed.text
    licence_id = signed.json()["id"]
    news = eventually(lambda: draft_of(p, f"NEWS-licence-{licence_id}"), timeout=30, what="the licence's draft")
    assert news["state"] == "draft" and news["origin"] == "milestone" and news["public"] is None
    content = news["content"]
    assert "Dalian Membrane Tech" in content["body"] and "Shenyang Battery Works" in content["body_en"]
    assert "50,000.00" in content["body_en"]

    # A transfer without consent: an anonymous draft (kind and city only, no amount).
    sold = published_listing(p, cast.owner)
    assignment = accepted_negotiation(p, cast.owner, cast.rival, sold, terms("assignment", fee=90_000_000),
                                      fair_id=fair["id"])
    transfer = sign(p, cast.rival, assignment)
    assert transfer.status_code == 201, transfer.text
    transfer_doc = httpx.get(url(p, transfer.json()["href"]), headers=trading_officer(p)).json()
    registered = httpx.post(url(p, f"{transfer.json()['href']}/registration"),
                            headers={**trading_officer(p), **if_match(transfer_doc)})
    assert registered.status_code == 200, registered.text
    anonymous = eventually(lambda: draft_of(p, f"NEWS-transfer-{transfer_doc['id']}"), timeout=30,
                           what="the transfer's draft")
    text = " ".join(str(v) for v in anonymous["content"].values())
    assert "Dalian Membrane Tech" not in text and "Anshan Energy" not in text and "900,000" not in text
    assert anonymous["content"]["body_en"].startswith("An enterprise in Dalian assigned an invention patent to")

    # One draft per milestone: the licence event delivered again (a new event id) drafts nothing new.
    signed_event = next(e for e in asyncio.run(read_events(p, "trading.events", key=licence_id))
                        if e.type.endswith("licence.signed.v1"))
    again = signed_event.model_copy(update={"id": str(uuid.uuid4())})
    asyncio.run(publish_events(p, "trading.events", [signed_event, again]))

    # The licence's draft is reviewed and published: then it is in both feeds.
    news = act(p, news, "submission", "kate")
    news = act(p, news, "publication", "liam")
    atom = feedparser.parse(httpx.get(f"{base(p)}/v1/feeds/news.atom").content)
    assert any(e.id.endswith(news["id"]) for e in atom.entries)
    assert any(i["id"].endswith(news["id"]) for i in httpx.get(f"{base(p)}/v1/feeds/news.json").json()["items"])

    # The fair closes: the campaign's figures move, and a draft with the fair's figures appears.
    current = httpx.get(url(p, f"/v1/fairs/{fair['id']}")).json()
    closed = httpx.post(url(p, f"/v1/fairs/{fair['id']}/closing"), headers={**trading_officer(p), **if_match(current)})
    assert closed.status_code == 200, closed.text

    def moved() -> Json | None:
        totals = campaign_page(p, campaign["id"])["totals"]
        return totals if totals["fair_deals"] == 2 else None

    totals = eventually(moved, timeout=30, what="the campaign's figures after the fair closed")
    assert totals["fair_deal_amount_fen"] == 95_000_000
    fair_news = eventually(lambda: draft_of(p, f"NEWS-fair-{fair['id']}"), timeout=30, what="the fair's draft")
    assert "2" in fair_news["content"]["title"]
    # Still exactly one draft for the licence, published, after the redeliveries above were consumed.
    consumed(p, "publicity-worker", "trading.events")
    drafts = ok(httpx.get(f"{base(p)}/v1/releases?kind=news&limit=100", headers=officer(p, "kate")))["items"]
    assert [d["id"] for d in drafts].count(f"NEWS-licence-{licence_id}") == 1
    final = draft_of(p, f"NEWS-licence-{licence_id}")
    assert final is not None and final["state"] == "published"

    # The campaign closes with its final figures on publicity.events; its page no longer changes. (Other
    # tests' fairs inside the same dates are listed too: the stack is shared, and its dates include today.)
    fairs_listed = campaign_page(p, campaign["id"])["totals"]["fairs"]
    assert fairs_listed >= 1
    campaign = act_on_campaign(p, ok(httpx.get(f"{base(p)}/v1/campaigns/{campaign['id']}"))["campaign"], "closing")
    assert campaign["status"] == "closed"
    refused = httpx.post(f"{base(p)}/v1/campaigns/{campaign['id']}/pins", headers={
        **officer(p, "kate"), "If-Match": f'"{campaign["version"]}"'},
        json={"kind": "fair", "item_id": fair["id"], "shown": False})
    assert refused.status_code == 409

    def closed_event() -> Json | None:
        found = [e for e in asyncio.run(read_events(p, "publicity.events", key=campaign["id"]))
                 if e.type.endswith("campaign.closed.v1")]
        return found[0].data if found else None

    closing = eventually(closed_event, timeout=30, what="campaign.closed on publicity.events")
    assert (closing["fairs"], closing["fair_deals"], closing["fair_deal_amount_fen"]) == (fairs_listed, 2, 95_000_000)


def act_on_campaign(p: Profile, campaign: Json, action: str,
                    body: Json | None = None) -> Json:
    response = httpx.post(f"{base(p)}/v1/campaigns/{campaign['id']}/{action}", json=body,
                          headers={**officer(p, "kate"), "If-Match": f'"{campaign["version"]}"'})
    assert response.status_code == 200, response.text
    answer: Json = response.json()
    return answer


def test_activity_submission_review_and_reach(cast: Cast, test_profile: Profile) -> None:  # noqa: F811
    p = test_profile
    today = date.today()
    campaign = ok(httpx.post(f"{base(p)}/v1/campaigns", headers=officer(p, "kate"), json={
        "name": "4.26 IP Publicity Week (activities)", "theme": "知识产权与创新", "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=6)).isoformat(), "organisers": ["Liaoning IPO"]}), 201)
    body = {"campaign_id": campaign["id"], "held_on": today.isoformat(), "title": "知识产权进社区",
            "responsible_unit": cast.owner, "theme": "尊重知识产权", "audiences": ["communities", "schools"],
            "format": "offline", "venue": "Dalian Xinghai Community Centre", "region_code": "210200",
            "expected_reach": 300}
    # Another unit cannot submit for this one; an offline activity needs its venue.
    refused = httpx.post(f"{base(p)}/v1/activities", json=body, headers=party(p, cast.buyer))
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "#/responsible_unit"

    def submitted() -> Json | None:  # the unit is known once the worker projected the registry's event
        answer = httpx.post(f"{base(p)}/v1/activities", json=body, headers=party(p, cast.owner))
        return answer.json() if answer.status_code == 201 else None

    activity = eventually(submitted, timeout=30, interval=0.5, what="the unit known to publicity")
    assert activity["state"] == "submitted" and activity["responsible_unit_name"] == "Dalian Membrane Tech Co., Ltd."

    def post(path: str, who: dict[str, str], payload: Json | None, current: Json, status: int = 200) -> Json:
        answer = httpx.post(f"{base(p)}/v1/activities/{current['id']}/{path}", json=payload,
                            headers={**who, "If-Match": f'"{current["version"]}"'})
        assert answer.status_code == status, answer.text
        result: Json = answer.json()
        return result

    post("acceptance", party(p, cast.owner), None, activity, status=403)  # units do not review themselves
    activity = post("return", officer(p, "kate"), {"reason": "请补充活动时间安排"}, activity)
    assert (activity["state"], activity["return_reason"]) == ("returned", "请补充活动时间安排")
    post("reach-report", party(p, cast.owner), {"participants": 1, "online_views": 1, "summary": "n/a"}, activity,
         status=409)
    resubmitted = httpx.put(f"{base(p)}/v1/activities/{activity['id']}", json={**body, "expected_reach": 400},
                            headers={**party(p, cast.owner), "If-Match": f'"{activity["version"]}"'})
    assert resubmitted.status_code == 200, resubmitted.text
    activity = post("acceptance", officer(p, "kate"), None, resubmitted.json())
    assert activity["state"] == "accepted" and activity["expected_reach"] == 400
    activity = post("reach-report", party(p, cast.owner),
                    {"participants": 280, "online_views": 12_000, "summary": "社区宣讲两场"}, activity)
    assert activity["reach"]["participants"] == 280
    totals = campaign_page(p, campaign["id"])["totals"]
    assert (totals["activities"], totals["reached_participants"], totals["reached_online_views"]) == (1, 280, 12_000)
    # Another unit does not see it.
    assert httpx.get(f"{base(p)}/v1/activities/{activity['id']}", headers=party(p, cast.buyer)).status_code == 404
