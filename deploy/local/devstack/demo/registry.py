"""The registry's part of the demo: organisations (the demo users' first) with valid credit codes, and a
few dozen talents with well-formed resident identity numbers (GB 11643: a Liaoning address code, a real
birth date and the check character), each employed by one of the organisations."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from registry.organisations.identifiers import uscc_check_character
from registry.talents.identity import identity_check_character

from devstack.demo.common import OFFICER, DemoError, Loader, wait


@dataclass(frozen=True)
class Organisation:
    code: str
    name: str
    kind: str


def _credit_code(prefix: str, region: str, serial: int) -> str:
    body = f"{prefix}{region}MA0DE{serial:04d}"
    return body + uscc_check_character(body)


# The demo users' organisations first (deploy/local/keycloak/realm-ipo-dev-additions.json), then more.
ORGANISATIONS: tuple[Organisation, ...] = (
    Organisation("91210100MA0DE0001E", "沈阳新材料科技有限公司", "enterprise"),
    Organisation("91210200MA0DE0002N", "大连海洋装备股份有限公司", "enterprise"),
    Organisation("12210000MB0DE0003N", "辽宁省知识产权培训基地", "university"),
    Organisation(_credit_code("91", "210300", 4), "鞍山钢铁新工艺研究院有限公司", "research_institute"),
    Organisation(_credit_code("91", "210800", 5), "营口新能源电池有限公司", "enterprise"),
    Organisation(_credit_code("12", "210100", 6), "Northeast Technical University", "university"),
    Organisation(_credit_code("91", "211100", 7), "盘锦石化催化剂有限公司", "enterprise"),
    Organisation(_credit_code("91", "210200", 8), "Dalian BioPharma Co., Ltd.", "enterprise"),
)
TRAINING_BASE = ORGANISATIONS[2]  # the demo coordinator's organisation

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "晓东",
         "海燕", "志强", "丽华")
CATEGORIES = ("enforcement", "enterprise_ip_management", "patent_agency", "information_retrieval_analysis",
              "ip_services")
QUALIFICATIONS = (("专利代理师资格", "国家知识产权局"), ("知识产权师\uff08中级\uff09", "人力资源和社会保障部"),
                  ("Patent information analyst", "CNIPA Patent Search Centre"))
WORK_REGIONS = ("210102", "210202", "210211", "210302", "210804", "211103")


def identity_number(rng: random.Random, region: str) -> str:
    """A well-formed resident identity number: address code, birth date 1965-1999, sequence, check."""
    first17 = f"{region}{rng.randrange(1965, 2000)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}" \
              f"{rng.randrange(1000):03d}"
    return first17 + identity_check_character(first17)


def talent_bodies(count: int, seed: int = 426) -> list[dict[str, Any]]:
    """The same `count` talents on every run."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        region = rng.choice(WORK_REGIONS)
        employer = ORGANISATIONS[index % len(ORGANISATIONS)]
        categories = sorted(rng.sample(CATEGORIES, rng.randrange(1, 3)), key=CATEGORIES.index)
        title, issuer = rng.choice(QUALIFICATIONS)
        out.append({
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN), "identity_number": identity_number(rng, region),
            "employer_organisation_id": employer.code, "region_code": region, "categories": categories,
            "qualifications": [{"title": title, "issuer": issuer, "year": rng.randrange(2012, 2026)}],
            "contact": {"email": f"talent{index:03d}@example.org"},
        })
    return out


def load_organisations(loader: Loader) -> None:
    officer = loader.headers(OFFICER, "officer")
    for org in ORGANISATIONS:
        response = loader.client.post(loader.url("registry", "/v1/organisations"), headers=officer, json={
            "credit_code": org.code, "name": org.name, "kind": org.kind, "region_code": org.code[2:8]})
        if response.status_code == 201:
            loader.created["organisations"] += 1
        elif response.status_code not in (200, 409):  # 409: registered before, by this loader
            raise DemoError(f"demo data: organisation {org.code}: {response.status_code} {response.text[:300]}")
    # Trading learns of them from the registry's events; listings need their owners there.
    for org in ORGANISATIONS:
        wait(lambda o=org: loader.get("trading", f"/v1/organisations/{o.code}").status_code == 200,  # type: ignore[misc]
             f"organisation {org.code} in trading")


def load_talents(loader: Loader, count: int) -> None:
    """Talents registered by an officer. The key is the talent's own (its place in the generated list);
    the body is the same every run, so a second run gets the first run's record back."""
    for index, body in enumerate(talent_bodies(count)):
        loader.create("talents", "registry", "/v1/talents", body,
                      loader.headers(OFFICER, "officer", key=f"demo-talent-{index:03d}"))
