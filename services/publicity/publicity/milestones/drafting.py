# ruff: noqa: RUF001  (Chinese text uses full-width punctuation on purpose)
"""News drafted from the other services' milestones: the texts, in Chinese and English. Pure.

Deal parties and amounts are named only when both parties agreed to publicity (trading carries each
party's consent on its deal events); otherwise the draft is anonymous, describing the parties by kind
and city only ("an enterprise in Shenyang licensed an invention patent ...").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# GB/T 2260 cities of Liaoning: Chinese and English names.
CITIES: dict[str, tuple[str, str]] = {
    "2101": ("沈阳", "Shenyang"), "2102": ("大连", "Dalian"), "2103": ("鞍山", "Anshan"),
    "2104": ("抚顺", "Fushun"), "2105": ("本溪", "Benxi"), "2106": ("丹东", "Dandong"),
    "2107": ("锦州", "Jinzhou"), "2108": ("营口", "Yingkou"), "2109": ("阜新", "Fuxin"),
    "2110": ("辽阳", "Liaoyang"), "2111": ("盘锦", "Panjin"), "2112": ("铁岭", "Tieling"),
    "2113": ("朝阳", "Chaoyang"), "2114": ("葫芦岛", "Huludao"),
}
KINDS: dict[str, tuple[str, str]] = {
    "enterprise": ("一家企业", "an enterprise"), "university": ("一所高校", "a university"),
    "research_institute": ("一家科研院所", "a research institute"),
    "patent_agency": ("一家专利代理机构", "a patent agency"), "bank": ("一家银行", "a bank"),
}
PATENT_TYPES: dict[str, tuple[str, str]] = {
    "1": ("发明专利", "an invention patent"), "8": ("发明专利", "an invention patent"),
    "2": ("实用新型专利", "a utility model patent"), "9": ("实用新型专利", "a utility model patent"),
    "3": ("外观设计专利", "a design patent"),
}
LEVELS: dict[str, tuple[str, str]] = {
    "assistant": ("助理级", "assistant"), "intermediate": ("中级", "intermediate"), "senior": ("高级", "senior"),
    "high_level": ("高层次", "high-level"),
}


@dataclass(frozen=True)
class Party:
    """What publicity knows of a deal party (from the registry's organisation events)."""

    name: str | None
    kind: str | None
    region_code: str | None


@dataclass(frozen=True)
class Draft:
    title: str
    summary: str
    body: str
    title_en: str
    summary_en: str
    body_en: str

    def content(self) -> dict[str, str | None]:
        return {"title": self.title, "summary": self.summary, "body": self.body, "title_en": self.title_en,
                "summary_en": self.summary_en, "body_en": self.body_en, "campaign_id": None}


def city(region_code: str | None) -> tuple[str, str]:
    if region_code and region_code[:4] in CITIES:
        return CITIES[region_code[:4]]
    return ("辽宁", "Liaoning")


def describe(party: Party) -> tuple[str, str]:
    """An anonymous description: kind and city."""
    zh_kind, en_kind = KINDS.get(party.kind or "", ("一家单位", "an organisation"))
    zh_city, en_city = city(party.region_code)
    return f"{zh_city}的{zh_kind}", f"{en_kind} in {en_city}"


def patent_type(application_number: str) -> tuple[str, str]:
    digit = application_number[4:5] if len(application_number) >= 5 else ""
    return PATENT_TYPES.get(digit, ("专利", "a patent"))


def yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def _named(party: Party, consented: bool) -> tuple[str, str]:
    if consented and party.name:
        return party.name, party.name
    return describe(party)


def deal_draft(kind: str, first: Party, second: Party, application_number: str, patent_title: str,
               amount_fen: int, consented: bool, extra_zh: str = "", extra_en: str = "") -> Draft:
    """licence (first licenses to second), transfer (first assigns to second), pledge (first pledges to
    second)."""
    a_zh, a_en = _named(first, consented)
    b_zh, b_en = _named(second, consented)
    p_zh, p_en = patent_type(application_number)
    verbs = {"licence": ("许可", "licensed", "专利许可", "Patent licence"),
             "transfer": ("转让", "assigned", "专利转让", "Patent assignment"),
             "pledge": ("质押", "pledged", "专利质押融资", "Patent pledge financing")}
    v_zh, v_en, t_zh, t_en = verbs[kind]
    what_zh = f"“{patent_title}”{p_zh}" if consented else p_zh
    what_en = f"{p_en} (\u201c{patent_title}\u201d)" if consented else p_en
    amount_zh = f"，金额{yuan(amount_fen)}元" if consented and amount_fen else ""
    amount_en = f" for CNY {yuan(amount_fen)}" if consented and amount_fen else ""
    a_en_start = a_en[0].upper() + a_en[1:]
    if kind == "pledge":
        body_zh = f"{a_zh}以{what_zh}向{b_zh}办理质押登记{amount_zh}。{extra_zh}"
        body_en = f"{a_en_start} {v_en} {what_en} to {b_en}{amount_en}, and the pledge is registered.{extra_en}"
    else:
        body_zh = f"{a_zh}将{what_zh}{v_zh}给{b_zh}{amount_zh}。{extra_zh}"
        body_en = f"{a_en_start} {v_en} {what_en} to {b_en}{amount_en}.{extra_en}"
    return Draft(title=f"{t_zh}：{a_zh}{v_zh}{p_zh}", summary=body_zh, body=body_zh,
                 title_en=f"{t_en}: {a_en} {v_en} {p_en}", summary_en=body_en, body_en=body_en)


def certified_draft(name: str, registration_number: str, level: str, category: str, region_code: str) -> Draft:
    l_zh, l_en = LEVELS.get(level, (level, level))
    c_zh, c_en = city(region_code)
    cat_en = category.replace("_", " ")
    body_zh = f"{c_zh}的{name}（登记号{registration_number}）通过评价，取得{l_zh}知识产权人才资格（{category}）。"
    body_en = (f"{name} of {c_en} (registration {registration_number}) was certified as an {l_en} IP professional "
               f"in {cat_en}.") if l_en[0] in "aeiou" else (
        f"{name} of {c_en} (registration {registration_number}) was certified as a {l_en} IP professional "
        f"in {cat_en}.")
    return Draft(title=f"{c_zh}新增一名{l_zh}知识产权人才", summary=body_zh, body=body_zh,
                 title_en=f"A new {l_en} IP professional in {c_en}", summary_en=body_en, body_en=body_en)


def completions_draft(year: int, count: int) -> Draft:
    body_zh = f"{year}年以来，已有{count}人次完成知识产权人才培训课程并取得结业证书。"
    body_en = f"{count} course completions with certificates have been recorded in IP talent training in {year}."
    return Draft(title=f"{year}年知识产权人才培训结业突破{count}人次", summary=body_zh, body=body_zh,
                 title_en=f"IP talent training passes {count} completions in {year}", summary_en=body_en,
                 body_en=body_en)


def fair_closed_draft(name: str, venue: str, licences: int, transfers: int, pledges: int, amount_fen: int,
                      listings_shown: int) -> Draft:
    deals = licences + transfers + pledges
    body_zh = (f"{name}在{venue}闭幕。展会期间展示专利{listings_shown}项，签订许可{licences}项、转让{transfers}项、"
               f"质押{pledges}项，共{deals}项，金额合计{yuan(amount_fen)}元。")
    body_en = (f"{name} closed at {venue}. {listings_shown} patents were shown; {licences} licences, {transfers} "
               f"transfers and {pledges} pledges were signed ({deals} deals), worth CNY {yuan(amount_fen)} in all.")
    return Draft(title=f"{name}闭幕，达成{deals}项专利交易", summary=body_zh, body=body_zh,
                 title_en=f"{name} closes with {deals} patent deals", summary_en=body_en, body_en=body_en)
