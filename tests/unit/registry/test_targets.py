"""Plan targets and pools from talent rows: who counts, and the tallies by category, level and city."""

from __future__ import annotations

from typing import Any

from registry.targets.domain import PLAN_TARGETS, tally


def row(region: str = "210200", status: str = "active", categories: tuple[str, ...] = ("ip_services",),
        level: str | None = None, certs: tuple[tuple[str, str], ...] = (),
        employer: str = "enterprise") -> dict[str, Any]:
    return {"status": status, "region_code": region, "categories": list(categories), "level": level,
            "certifications": [{"level": lv, "category": cat} for lv, cat in certs], "employer_kind": employer}


def achieved(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {t.name: t.achieved for t in tally(rows).targets}


def test_goals_are_the_programme_targets() -> None:
    assert {t.name: t.goal for t in PLAN_TARGETS} == {
        "high_level_ip_management": 100, "ip_service_talents": 100, "enterprise_ip_engineers": 1000}


def test_who_counts_toward_which_target() -> None:
    ipm = "enterprise_ip_management"
    rows = [
        row(categories=(ipm,), level="high_level", certs=(("senior", ipm), ("high_level", ipm))),  # both ipm targets
        row(categories=(ipm,), level="assistant", certs=(("assistant", ipm),), employer="university"),  # none
        row(categories=("ip_services",), level="intermediate", certs=(("intermediate", "ip_services"),)),
        row(categories=("ip_services", ipm), level=None),  # declared, not certified: none
        row(categories=(ipm,), level="senior", certs=(("senior", ipm),), status="suspended"),  # not active
    ]
    assert achieved(rows) == {"high_level_ip_management": 1, "ip_service_talents": 1, "enterprise_ip_engineers": 1}


def test_progress_by_city_and_ratio() -> None:
    rows = [row(region="210202", certs=(("assistant", "ip_services"),)),
            row(region="210102", certs=(("senior", "ip_services"),)),
            row(region="210104", certs=(("senior", "ip_services"),)),
            row(region="110105", certs=(("senior", "ip_services"),))]
    services = next(t for t in tally(rows).targets if t.name == "ip_service_talents")
    assert services.by_city == {"210200": 1, "210100": 2, "outside": 1}
    assert services.ratio == 0.04


def test_talent_gauge_counts_once_per_category_and_skips_inactive() -> None:
    rows = [row(categories=("ip_services", "patent_agency"), level="senior"),
            row(categories=("ip_services",), region="210211"),
            row(categories=("ip_services",), status="removed")]
    assert tally(rows).talents == {("ip_services", "senior", "210200"): 1, ("patent_agency", "senior", "210200"): 1,
                                   ("ip_services", "none", "210200"): 1}


def test_pools() -> None:
    rows = [row(region="210100", categories=("enforcement",)), row(region="210102", level="senior"),
            row(region="210000"), row(region="110105"), row(region="210200", status="inactive")]
    result = tally(rows)
    assert (result.province.talents, result.province.by_category, result.province.by_level) == (
        3, {"enforcement": 1, "ip_services": 2}, {"none": 2, "senior": 1})
    shenyang = next(c for c in result.cities if c.code == "210100")
    assert (shenyang.name, shenyang.talents, shenyang.by_level) == ("Shenyang", 2, {"none": 1, "senior": 1})
    assert len(result.cities) == 14
    assert next(c for c in result.cities if c.code == "210200").talents == 0
