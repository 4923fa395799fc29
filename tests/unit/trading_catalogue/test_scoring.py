"""The matchmaker's pure scoring function."""

from __future__ import annotations

import pytest
from trading.matching.scoring import MIN_SCORE, DemandFacts, ListingFacts, ipc_similarity, region_similarity, score


def listing(**overrides: object) -> ListingFacts:
    base: dict[str, object] = dict(ipc_codes=("H01M 10/0525",), tokens=frozenset({"锂电", "电池", "隔膜"}),
                                   region_code="210200", deal_types=frozenset({"exclusive_licence"}),
                                   price_fen=50_000_000)
    base.update(overrides)
    return ListingFacts(**base)  # type: ignore[arg-type]


def demand(**overrides: object) -> DemandFacts:
    base: dict[str, object] = dict(ipc_prefixes=("H01M",), tokens=("隔膜",), region_code=None,
                                   deal_types=frozenset(), budget_max_fen=None)
    base.update(overrides)
    return DemandFacts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("prefix", "expected"), [
    ("H01M", 1.0), ("H", 1.0), ("H01M10/0525", 1.0), ("H01M10", 1.0),
    ("H01M10/0562", 0.8), ("H01M4", 0.6), ("H01B", 0.3), ("H02", 0.1), ("A61K", 0.0),
])
def test_ipc_similarity(prefix: str, expected: float) -> None:
    assert ipc_similarity(prefix, "H01M 10/0525") == expected


def test_region_similarity() -> None:
    assert region_similarity(None, "210200") == 1.0
    assert region_similarity("210200", "210211") == 1.0
    assert region_similarity("210000", "210211") == 1.0
    assert region_similarity("210100", "210211") == 0.5
    assert region_similarity("110000", "210211") == 0.0


def test_a_perfect_match_scores_100_with_reasons() -> None:
    result = score(listing(), demand(region_code="210200", deal_types=frozenset({"exclusive_licence"})))
    assert result is not None and result.score == 100
    assert result.reasons == ("IPC H01M 10/0525 for H01M", "keywords: 隔膜", "same city")


def test_components_weigh_in() -> None:
    full = score(listing(), demand())
    half_keywords = score(listing(), demand(tokens=("隔膜", "飞机")))
    assert full is not None and half_keywords is not None
    assert full.score - half_keywords.score == round(35 / 2)
    far = score(listing(), demand(region_code="110000"))
    assert far is not None and far.score == 90
    over = score(listing(), demand(budget_max_fen=1))
    assert over is not None and over.score == 70 and "price above budget" in over.reasons


def test_no_suggestion_without_overlap_or_fitting_deal() -> None:
    assert score(listing(), demand(ipc_prefixes=("A61K",), tokens=("药物",))) is None
    assert score(listing(), demand(deal_types=frozenset({"assignment"}))) is None
    weak = score(listing(), demand(ipc_prefixes=("H02",), tokens=(), region_code="110000"))
    assert weak is None, f"below {MIN_SCORE}"
