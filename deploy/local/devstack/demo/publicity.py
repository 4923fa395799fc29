"""Publicity's part of the demo: the campaign "4.26 知识产权宣传周 2027" (20-26 April 2027) with the fair
pinned to its page, public events with capacity (a few places taken), and press releases through the
editorial workflow: two published (submitted by one officer, published by another: the two-person rule),
one scheduled for the week's opening (its embargo is months ahead, so it stays scheduled), and a news
item left as a draft."""

from __future__ import annotations

from typing import Any

from devstack.demo.common import OFFICER, SECOND_OFFICER, DemoError, Loader

CAMPAIGN = {"name": "4.26 知识产权宣传周 2027", "theme": "全面加强知识产权保护 推动构建新发展格局",
            "starts_on": "2027-04-20", "ends_on": "2027-04-26",
            "organisers": ["辽宁省知识产权局", "Liaoning Intellectual Property Office"]}

# (key, title, description, venue, region, start, end, capacity, registrations to make)
EVENTS: tuple[tuple[str, str, str, str, str, str, str, int, int], ...] = (
    ("opening", "4.26 知识产权宣传周启动仪式", "宣传周开幕\uff0c发布年度知识产权保护典型案例。",
     "沈阳·辽宁省科技馆报告厅", "210100", "2027-04-20T09:30:00+08:00", "2027-04-20T11:30:00+08:00", 300, 3),
    ("campus", "知识产权进校园", "面向高校师生的专利申请与保护讲座。", "大连理工大学图书馆报告厅", "210200",
     "2027-04-22T14:00:00+08:00", "2027-04-22T16:30:00+08:00", 150, 2),
    ("open-day", "IP Office open day", "Meet the examiners and the enforcement team; guided tours every hour.",
     "Shenyang, Provincial IP Office", "210100", "2027-04-25T09:00:00+08:00", "2027-04-25T16:00:00+08:00", 60, 0),
)
VISITORS = (("张伟", "zhang.wei"), ("李娜", "li.na"), ("Wang Fang", "wang.fang"))

# (key, kind, target state, Chinese title, Chinese body, English title or None)
RELEASES: tuple[tuple[str, str, str, str, str, str | None], ...] = (
    ("week-announced", "press_release", "published", "辽宁省将举办 2027 年知识产权宣传周",
     "4 月 20 日至 26 日\uff0c全省将开展知识产权宣传周系列活动\uff0c包括启动仪式、进校园讲座和开放日。",
     "Liaoning announces its 2027 IP Publicity Week"),
    ("fair-announced", "press_release", "published", "2027 辽宁专利技术交易会 5 月在大连举行",
     "交易会期间将集中展示数百项可转让、可许可的专利技术\uff0c欢迎企业参展洽谈。", None),
    ("week-opens", "press_release", "scheduled", "2027 年知识产权宣传周今日启动",
     "宣传周今日在沈阳启动\uff0c发布年度知识产权保护典型案例。", "The 2027 IP Publicity Week opens today"),
    ("training-news", "news", "draft", "知识产权培训课程报名开始",
     "辽宁省知识产权培训基地 2027 年课程开放报名\uff0c含专利检索、申请文件撰写和企业知识产权管理。", None),
)
OPENING = "2027-04-20T09:00:00+08:00"  # the scheduled release's embargo: the week's first morning


def load_campaign(loader: Loader, fair: dict[str, Any]) -> str:
    """The campaign (planned; an officer opens it when the week starts), with the fair pinned: the fair
    is in May, outside the week's dates, so the page would not list it on its own. Returns its id."""
    officer = loader.headers(OFFICER, "officer", key="demo-campaign-426-2027")
    campaign = loader.create("campaigns", "publicity", "/v1/campaigns", CAMPAIGN, officer)
    if not any(p["kind"] == "fair" and p["item_id"] == fair["id"] and p["shown"] for p in campaign["pins"]):
        loader.act("pinning the fair", "publicity", f"/v1/campaigns/{campaign['id']}/pins",
                   loader.headers(OFFICER, "officer", version=campaign["version"]),
                   {"kind": "fair", "item_id": fair["id"], "shown": True})
    return str(campaign["id"])


def load_events(loader: Loader, campaign_id: str) -> None:
    for key, title, description, venue, region, starts, ends, capacity, taken in EVENTS:
        event = loader.create("events", "publicity", "/v1/events", {
            "title": title, "description": description, "venue": venue, "region_code": region,
            "starts_at": starts, "ends_at": ends, "capacity": capacity, "campaign_id": campaign_id,
        }, loader.headers(OFFICER, "officer", key=f"demo-event-{key}"))
        for n in range(taken):
            name, mail = VISITORS[n]
            # Public registrations (no token); the key makes a second run get the same registration back.
            loader.create("registrations", "publicity", f"/v1/events/{event['id']}/registrations",
                          {"name": name, "email": f"{mail}@example.org", "places": 1},
                          {"Idempotency-Key": f"demo-registration-{key}-{n}"})


def _step(loader: Loader, release: dict[str, Any], target: str) -> dict[str, Any] | None:
    """The next editorial action toward `target`, done; None when the release is there already."""
    state, rid, version = release["state"], release["id"], release["version"]
    if state == target or target == "draft":
        return None
    if state == "draft":  # the first officer submits...
        action, body, actor = "submission", None, OFFICER
    elif state == "submitted" and target == "published":  # ...another publishes (two-person rule)
        action, body, actor = "publication", None, SECOND_OFFICER
    elif state == "submitted" and target == "scheduled":
        action, body, actor = "scheduling", {"publish_at": OPENING}, SECOND_OFFICER
    else:
        raise DemoError(f"demo data: release {rid} is {state}, which the loader does not move to {target}")
    answer: dict[str, Any] = loader.act(f"{action} of release {rid}", "publicity", f"/v1/releases/{rid}/{action}",
                                        loader.headers(actor, "officer", version=version), body).json()
    if answer["state"] in ("published", "scheduled"):
        loader.created[f"releases {answer['state']}"] += 1
    return answer


def load_releases(loader: Loader, campaign_id: str) -> None:
    for key, kind, target, title, body, title_en in RELEASES:
        content: dict[str, Any] = {"kind": kind, "title": title, "summary": body[:60], "body": body,
                                   "campaign_id": campaign_id}
        if title_en:
            content.update(title_en=title_en, body_en=f"{title_en}. Details in the Chinese text.")
        release: dict[str, Any] | None = loader.create(
            "releases", "publicity", "/v1/releases", content, loader.headers(OFFICER, "officer",
                                                                             key=f"demo-release-{key}"))
        while release is not None:
            release = _step(loader, release, target)
