"""The publish benchmark's listings are ones the API accepts, and drawn like the catalogue it publishes
into: if the listing model or its rules tighten, the benchmark would otherwise measure 422s."""

from __future__ import annotations

from trading.listings.models import ListingCreate
from trading.listings.search import listing_terms
from trading.listings.service import check_create_rules

from tests.benchmarks.publish import TEXTS, listing_body


def test_every_kind_of_benchmark_listing_passes_the_create_rules() -> None:
    for text in TEXTS:
        for serial in range(1, 301):
            data = ListingCreate.model_validate(listing_body(serial, "zrrun zq1", text))
            check_create_rules(data)


def test_varied_listings_spread_over_the_vocabulary_and_uniform_ones_do_not() -> None:
    def distinct_terms(text: str) -> int:
        return len({t for serial in range(1, 51) for t in listing_terms(listing_body(serial, f"zq{serial}", text))})

    # Uniform listings share every term but their own keyword; 50 varied ones touch hundreds.
    shared = len(listing_terms(listing_body(1, "zq1", "uniform"))) - 1
    assert distinct_terms("uniform") == shared + 50
    assert distinct_terms("varied") > 500


def test_a_serial_always_draws_the_same_listing() -> None:
    assert listing_body(7, "k") == listing_body(7, "k")
    assert listing_body(7, "k") != listing_body(8, "k")
