"""Trading's part of the demo: a few hundred patent listings in Chinese and English across IPC classes,
each claimed by its owner and the claim verified by an officer, then published; a fair; technology needs
of a few organisations, for which the matchmaker then suggests listings."""

from __future__ import annotations

import random
from typing import Any

from trading.patents.identifiers import application_check_character

from devstack.demo.common import OFFICER, DemoError, Loader, wait
from devstack.demo.registry import ORGANISATIONS, Organisation

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


def _participant(loader: Loader, owner: Organisation, key: str | None = None,
                 version: int | None = None) -> dict[str, str]:
    return loader.headers(f"demo-loader-{owner.code}", "participant", owner.code, key=key, version=version)


def _own(loader: Loader, owner: Organisation, number: str) -> None:
    """Only a patent's verified owner publishes its listing: the owner claims it and an officer verifies
    the claim, through the API like any user (a second run finds it verified already)."""
    claimed = loader.client.post(loader.url("trading", f"/v1/patents/{number}/claims"),
                                 headers=_participant(loader, owner), json={
        "owners": [owner.name],
        "evidence": {"kind": "certificate", "reference": f"证书 {number}", "dated": "2025-01-15"}})
    if claimed.status_code == 409 and claimed.json().get("type", "").endswith("/already-owner"):
        return
    if claimed.status_code not in (200, 201):
        raise DemoError(f"demo data: claiming {number}: {claimed.status_code} {claimed.text[:300]}")
    loader.act(f"verifying {number}", "trading", f"/v1/patents/{number}/claims/{owner.code}/verification",
               loader.headers(OFFICER, "officer"), {"reason": "demo data: matches the register extract"},
               ok=(200, 409))


def load_listings(loader: Loader, count: int) -> None:
    for owner, body in listing_bodies(count):
        number = body["application_number"]
        _own(loader, owner, number)
        listing = loader.create("listings", "trading", "/v1/listings", body,
                                _participant(loader, owner, key=f"demo-listing-{number}"))
        if listing["status"] == "draft":
            loader.act(f"publishing {listing['id']}", "trading", f"/v1/listings/{listing['id']}/publication",
                       _participant(loader, owner, version=listing["version"]))
            loader.created["published"] += 1


def load_fair(loader: Loader) -> dict[str, Any]:
    fair: dict[str, Any] = loader.create("fairs", "trading", "/v1/fairs", {
        "name": "2027 辽宁专利技术交易会", "venue": "大连世界博览广场", "region_code": "210200",
        "starts_on": "2027-05-18", "ends_on": "2027-05-20"}, loader.headers(OFFICER, "officer",
                                                                          key="demo-fair-2027-dalian"))
    return fair


# Technology needs: (organisation index, title, IPC prefixes, keywords, deal types, budget in yuan). Each
# asks for a subject other organisations' listings cover (SUBJECTS above), so the matchmaker finds some.
NEEDS: tuple[tuple[int, str, list[str], list[str], list[str] | None, int | None], ...] = (
    (1, "寻求锂离子电池及正极材料技术", ["H01M"], ["锂离子电池", "正极材料"], ["exclusive_licence", "assignment"],
     3_000_000),
    (1, "Industrial robot welding technology wanted", ["B25J", "B23K"], ["robot", "welding"], None, None),
    (0, "高强度钢与复合材料工艺", ["C22C", "C08L"], ["高强度钢", "复合材料"], None, 800_000),
    (4, "风力发电机叶片技术合作", ["F03D"], ["风力发电机叶片"], None, 2_000_000),
    (7, "Text classification for patent analytics", ["G06F 16"], ["text classification"], None, 500_000),
)


def load_needs(loader: Loader) -> None:
    """Needs posted by participants; then wait until the matchmaker (trading's worker, on the
    demand-posted and listing-published events) has suggested listings for each organisation's needs."""
    posters = set()
    for index, (org_index, title, ipc, keywords, deals, budget) in enumerate(NEEDS):
        owner = ORGANISATIONS[org_index]
        posters.add(owner)
        loader.create("needs", "trading", "/v1/demands", {
            "title": title, "description": f"{title}\u3002demo data", "ipc_codes": ipc, "keywords": keywords,
            "deal_types": deals, "budget_max_fen": None if budget is None else budget * 100,
        }, _participant(loader, owner, key=f"demo-need-{index}"))
    for owner in sorted(posters, key=ORGANISATIONS.index):
        wait(lambda o=owner: bool(loader.get("trading", "/v1/matches",  # type: ignore[misc]
                                             _participant(loader, o)).json()["items"]),
             f"the matchmaker's suggestions for {owner.code}")


def matches_seen(loader: Loader) -> int:
    """How many suggestions the needs' organisations see (each suggestion once per party)."""
    owners = {ORGANISATIONS[n[0]] for n in NEEDS}
    return sum(len(loader.get("trading", "/v1/matches", _participant(loader, o)).json()["items"]) for o in owners)
