"""Training's part of the demo: courses of the demo coordinator's training base, one the prerequisite of
another, each with sessions in 2027 (some inside the 4.26 publicity week, so the campaign lists them)."""

from __future__ import annotations

from typing import Any

from devstack.demo.common import COORDINATOR, Loader
from devstack.demo.registry import TRAINING_BASE

# (key, title, audience, credit hours, modules, categories, prerequisite key or None)
COURSES: tuple[tuple[str, str, str, str, list[tuple[str, str]], list[str], str | None], ...] = (
    ("basics", "专利基础与检索实务", "engineers", "16",
     [("专利制度概论", "4"), ("专利检索方法", "8"), ("检索实操", "4")], ["information_retrieval_analysis"], None),
    ("drafting", "专利申请文件撰写", "engineers", "24", [("权利要求书撰写", "12"), ("说明书撰写", "12")],
     ["patent_agency"], "basics"),
    ("management", "企业知识产权管理规范\uff08GB/T 29490\uff09", "enterprise_managers", "12",
     [("管理体系", "6"), ("内审与评审", "6")], ["enterprise_ip_management"], None),
    ("enforcement", "Intellectual property enforcement in practice", "government_cadres", "8",
     [("Administrative enforcement", "4"), ("Case studies", "4")], ["enforcement"], None),
)
# Sessions per course: (start, end) in Shenyang time, the venue and the seats.
SESSIONS: dict[str, tuple[tuple[str, str, str, int], ...]] = {
    "basics": (("2027-03-15T09:00:00+08:00", "2027-03-16T17:00:00+08:00", "沈阳·辽宁省知识产权培训基地 301 教室", 40),
               ("2027-04-21T09:00:00+08:00", "2027-04-22T17:00:00+08:00", "大连·高新区知识产权服务中心", 60)),
    "drafting": (("2027-05-10T09:00:00+08:00", "2027-05-12T17:00:00+08:00", "沈阳·辽宁省知识产权培训基地 302 教室",
                  30),),
    "management": (("2027-04-24T09:00:00+08:00", "2027-04-24T17:00:00+08:00", "鞍山·科技大厦报告厅", 120),),
    "enforcement": (("2027-06-08T09:00:00+08:00", "2027-06-08T17:00:00+08:00", "Shenyang, Provincial IP Office, "
                     "Hall B", 80),),
}


def load_courses(loader: Loader) -> list[dict[str, Any]]:
    """Courses and sessions, created by a coordinator of the base (its `org` claim names the base).
    Returns the sessions."""
    coordinator = loader.headers(COORDINATOR, "coordinator", TRAINING_BASE.code)
    ids: dict[str, str] = {}
    sessions = []
    for key, title, audience, hours, modules, categories, prerequisite in COURSES:
        course = loader.create("courses", "training", "/v1/courses", {
            "title": title, "audience": audience, "credit_hours": hours,
            "modules": [{"title": t, "hours": h} for t, h in modules], "categories": categories,
            "prerequisites": [ids[prerequisite]] if prerequisite else [],
            "description": f"{title}: demo course of {TRAINING_BASE.name}",
        }, {**coordinator, "Idempotency-Key": f"demo-course-{key}"})
        ids[key] = course["id"]
        for index, (starts, ends, venue, capacity) in enumerate(SESSIONS[key]):
            sessions.append(loader.create(
                "sessions", "training", f"/v1/courses/{course['id']}/sessions",
                {"starts_at": starts, "ends_at": ends, "venue": venue, "capacity": capacity},
                {**coordinator, "Idempotency-Key": f"demo-session-{key}-{index}"}))
    return sessions
