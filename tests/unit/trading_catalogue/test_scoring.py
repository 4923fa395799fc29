"""The matchmaker's pure scoring function."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from trading.matching.scoring import (
    MIN_SCORE,
    DemandFacts,
    ListingFacts,
    demand_filing_terms,
    ipc_similarity,
    listing_lookup_terms,
    region_similarity,
    score,
)


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


# Small vocabularies, so generated pairs often share IPC levels and tokens and scores land on both sides
# of MIN_SCORE.
_LISTING_CODES = ("H01M 10/0525", "H01M 4/13", "H01M 4/133", "H01B 1/04", "H02J 7/00", "A61K 31/00", "G06F 16/30")
_DEMAND_PREFIXES = ("H", "H01", "H01M", "H01M4", "H01M4/13", "H01M10/0525", "H01B", "H02J7", "A61K", "G06F16")
_TOKENS = ("锂电", "电池", "隔膜", "电极", "算法", "检索", "药物")
_REGIONS = ("210100", "210200", "220100")
_DEALS = ("exclusive_licence", "ordinary_licence", "transfer")


@settings(max_examples=1000, derandomize=True, deadline=None)
@given(codes=st.lists(st.sampled_from(_LISTING_CODES), min_size=0, max_size=2),
       listing_tokens=st.frozensets(st.sampled_from(_TOKENS), max_size=4),
       prefixes=st.lists(st.sampled_from(_DEMAND_PREFIXES), min_size=0, max_size=2),
       demand_tokens=st.lists(st.sampled_from(_TOKENS), min_size=0, max_size=3, unique=True),
       region=st.sampled_from(_REGIONS), wanted_region=st.sampled_from((None, *_REGIONS)),
       offered=st.frozensets(st.sampled_from(_DEALS), min_size=1), wanted=st.frozensets(st.sampled_from(_DEALS)),
       price=st.sampled_from((None, 1_000, 9_000_000)), budget=st.sampled_from((None, 5_000)))
def test_every_demand_a_listing_can_be_suggested_to_is_filed_under_one_of_its_terms(
        codes: list[str], listing_tokens: frozenset[str], prefixes: list[str], demand_tokens: list[str], region: str,
        wanted_region: str | None, offered: frozenset[str], wanted: frozenset[str], price: int | None,
        budget: int | None) -> None:
    listing_facts = ListingFacts(tuple(codes), listing_tokens, region, offered, price)
    demand_facts = DemandFacts(tuple(prefixes), tuple(demand_tokens), wanted_region, wanted, budget)
    if score(listing_facts, demand_facts) is not None:
        assert demand_filing_terms(demand_facts) & listing_lookup_terms(listing_facts)


def test_a_shared_class_alone_files_nothing_in_common() -> None:
    # H01B vs H01M share only the class: 13.5 points, which cannot reach MIN_SCORE without a keyword.
    assert score(listing(tokens=frozenset({"算法"})), demand(ipc_prefixes=("H01B",), tokens=("药物",))) is None
    assert not (demand_filing_terms(demand(ipc_prefixes=("H01B",), tokens=("药物",)))
                & listing_lookup_terms(listing(tokens=frozenset({"算法"}))))
