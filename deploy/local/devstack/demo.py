"""The demo dataset `make run` loads on start: organisations (those of the demo users, and more), a few
hundred patent listings in Chinese and English across IPC classes, published, and a fair.

Everything goes through the APIs, so events flow as in real use. Loading twice creates nothing twice:
every POST carries an Idempotency-Key derived from what it creates (the APIs answer a repeated key with
what the first request created), and each body is the same on every run (a seeded generator, fixed
dates). Requests are made as development users (HS256 tokens of this profile), each organisation's
listings by a participant of that organisation.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from registry.organisations.identifiers import uscc_check_character
from servicekit.auth import mint_token
from trading.patents.identifiers import application_check_character

from devstack.components import demo_users, dev_jwt_secret
from devstack.layout import Profile

ISSUER = "https://auth.ipo.local"
AUDIENCE = "ipo-platform"


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

# (IPC, industry, Chinese subject, English subject)
SUBJECTS: tuple[tuple[str, str, str, str], ...] = (
    ("H01M 10/0525", "new_energy", "锂离子电池", "lithium-ion battery"),
    ("H01M 4/505", "new_materials", "电池正极材料", "cathode material"),
    ("B25J 9/16", "equipment_manufacturing", "工业机器人", "industrial robot"),
    ("B23K 37/02", "equipment_manufacturing", "焊接装置", "welding device"),
    ("C08L 23/06", "new_materials", "聚乙烯复合材料", "polyethylene composite"),
    ("C10G 11/18", "petrochemicals", "催化裂化工艺", "catalytic cracking process"),
    ("A61K 31/4745", "biomedicine", "抗肿瘤化合物", "antitumour compound"),
    ("A01H 1/02", "agriculture_food", "耐盐碱水稻", "saline-tolerant rice"),
    ("F03D 80/40", "new_energy", "风力发电机叶片", "wind turbine blade"),
    ("G06F 16/35", "electronics_information", "文本分类方法", "text classification method"),
    ("H04L 9/32", "electronics_information", "身份认证系统", "authentication system"),
    ("B01D 53/86", "energy_saving_environment", "烟气脱硝装置", "flue gas denitration unit"),
    ("B63B 35/44", "equipment_manufacturing", "海洋平台", "offshore platform"),
    ("C22C 38/04", "new_materials", "高强度钢", "high-strength steel"),
)
ZH_FORMS = ("{}的制备方法", "一种{}及其应用", "{}的控制系统", "用于{}的检测装置", "{}的改进结构")
EN_FORMS = ("Method of making a {}", "A {} and its use", "Control system for a {}", "Testing rig for a {}",
            "Improved {} structure")
DEAL_TYPES = ("assignment", "exclusive_licence", "sole_licence", "ordinary_licence", "open_licence")
REGIONS = ("210102", "210202", "210211", "210302", "210804", "211103", "210100", "210200")


def _application_number(rng: random.Random, kind: str, year: int) -> str:
    digits = f"{year}{ {'invention': '1', 'utility_model': '2'}[kind] }{rng.randrange(10**7):07d}"
    return f"{digits}.{application_check_character(digits)}"


def listing_bodies(count: int, seed: int = 13) -> list[tuple[Organisation, dict[str, Any]]]:
    """The same `count` listings on every run: (owner, body)."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        owner = ORGANISATIONS[index % len(ORGANISATIONS)]
        ipc, industry, zh, en = SUBJECTS[index % len(SUBJECTS)]
        chinese = index % 4 != 3  # three in four in Chinese, the rest in English
        form = rng.randrange(len(ZH_FORMS))
        kind = "invention" if rng.random() < 0.8 else "utility_model"
        deals = sorted(rng.sample(DEAL_TYPES[:4], rng.randrange(1, 3)), key=DEAL_TYPES.index)
        price = None if rng.random() < 0.15 else rng.randrange(5, 500) * 10_000_00
        title = ZH_FORMS[form].format(zh) if chinese else EN_FORMS[form].format(en)
        abstract = (f"本发明涉及{zh}领域\uff0c提高了性能并降低了成本。" if chinese
                    else f"The invention concerns the {en} field; it improves performance and lowers cost.")
        # Still in force today: a utility model's term is 10 years from filing, an invention's 20.
        year = rng.randrange(2017 if kind == "utility_model" else 2015, 2025)
        body: dict[str, Any] = {
            # The filing date's year is the number's; the expiry is computed from kind and filing date.
            "application_number": _application_number(rng, kind, year),
            "filing_date": f"{year}-0{rng.randrange(1, 10)}-15", "patent_kind": kind, "title": title,
            "abstract": abstract, "ipc_codes": [ipc], "industry": industry, "region_code": rng.choice(REGIONS),
            "legal_status": "granted" if rng.random() < 0.7 else "pending",
            "deal_types": deals,
            "price_fen": price,
        }
        out.append((owner, body))
    return out


def _headers(profile: Profile, subject: str, role: str, org: str | None, key: str | None) -> dict[str, str]:
    token = mint_token(dev_jwt_secret(profile), subject, [role], issuer=ISSUER, audience=AUDIENCE,
                       organisation_id=org)
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def _wait(probe: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise SystemExit(f"demo data: timed out waiting for {what}")


def _own(client: httpx.Client, trading: str, profile: Profile, owner: Organisation, number: str) -> None:
    """Only a patent's verified owner publishes its listing: the owner claims it and an officer verifies
    the claim, through the API like any user (a second run finds it verified already)."""
    claimed = client.post(f"{trading}/v1/patents/{number}/claims", headers=_headers(
        profile, f"demo-loader-{owner.code}", "participant", owner.code, None), json={
        "owners": [owner.name],
        "evidence": {"kind": "certificate", "reference": f"证书 {number}", "dated": "2025-01-15"}})
    if claimed.status_code == 409 and claimed.json().get("type", "").endswith("/already-owner"):
        return
    if claimed.status_code not in (200, 201):
        raise SystemExit(f"demo data: claiming {number}: {claimed.status_code} {claimed.text[:300]}")
    verified = client.post(f"{trading}/v1/patents/{number}/claims/{owner.code}/verification",
                           headers=_headers(profile, "demo-loader-officer", "officer", None, None),
                           json={"reason": "demo data: matches the register extract"})
    if verified.status_code not in (200, 409):
        raise SystemExit(f"demo data: verifying {number}: {verified.status_code} {verified.text[:300]}")


def load(profile: Profile, listings: int = 240, report: Callable[[str], None] = print) -> dict[str, int]:
    """Load the dataset (idempotently); returns how many of each thing it created this time."""
    registry = f"http://127.0.0.1:{profile.ports.api('registry')}"
    trading = f"http://127.0.0.1:{profile.ports.api('trading')}"
    created = {"organisations": 0, "listings": 0, "published": 0, "fairs": 0}
    with httpx.Client(timeout=30) as client:
        officer = _headers(profile, "demo-loader-officer", "officer", None, None)
        for org in ORGANISATIONS:
            response = client.post(f"{registry}/v1/organisations", headers=officer, json={
                "credit_code": org.code, "name": org.name, "kind": org.kind, "region_code": org.code[2:8]})
            if response.status_code == 201:
                created["organisations"] += 1
            elif response.status_code not in (200, 409):  # 409: registered before, by this loader
                raise SystemExit(f"demo data: organisation {org.code}: {response.status_code} {response.text[:300]}")
        for org in ORGANISATIONS:
            _wait(lambda o=org: client.get(f"{trading}/v1/organisations/{o.code}").status_code == 200,  # type: ignore[misc]
                  f"organisation {org.code} in trading")
        for index, (owner, body) in enumerate(listing_bodies(listings)):
            _own(client, trading, profile, owner, body["application_number"])
            key = f"demo-listing-{body['application_number']}"
            headers = _headers(profile, f"demo-loader-{owner.code}", "participant", owner.code, key)
            response = client.post(f"{trading}/v1/listings", headers=headers, json=body)
            if response.status_code not in (200, 201):
                raise SystemExit(f"demo data: listing {index}: {response.status_code} {response.text[:300]}")
            listing = response.json()
            created["listings"] += response.status_code == 201
            if listing["status"] == "draft":
                published = client.post(f"{trading}/v1/listings/{listing['id']}/publication", headers={
                    **_headers(profile, f"demo-loader-{owner.code}", "participant", owner.code, None),
                    "If-Match": f'"{listing["version"]}"'})
                if published.status_code != 200:
                    raise SystemExit(f"demo data: publishing {listing['id']}: {published.text[:300]}")
                created["published"] += 1
        fair = client.post(f"{trading}/v1/fairs", headers=_headers(
            profile, "demo-loader-officer", "officer", None, "demo-fair-2027-dalian"), json={
            "name": "2027 辽宁专利技术交易会", "venue": "大连世界博览广场", "region_code": "210200",
            "starts_on": "2027-05-18", "ends_on": "2027-05-20"})
        if fair.status_code not in (200, 201):
            raise SystemExit(f"demo data: fair: {fair.status_code} {fair.text[:300]}")
        created["fairs"] += fair.status_code == 201
    report(f"demo data: created {created} (the rest existed already); demo users: "
           + ", ".join(u["username"] for u in demo_users()))
    return created
