"""How well a listing answers a demand (pure, unit-tested).

score = 100 x (0.45 IPC + 0.35 keywords + 0.10 region + 0.10 deal type), then x 0.7 when the asking
price is above the budget. Components, each 0..1:

- IPC: the best pair of (demand code, listing code). A listing inside the demand's field (the demand's
  code is a prefix of the listing's) scores 1; otherwise the deepest level they share: main group 0.8,
  subclass 0.6, class 0.3, section 0.1.
- keywords: the share of the demand's keyword tokens found in the listing's title and abstract.
- region: no preference or same city 1, same province 0.5, else 0.
- deal type: no preference or any common deal type 1, else 0, and then no suggestion at all: a
  listing that offers nothing the demand accepts is not a match.

A suggestion needs some technical overlap (IPC or keywords) and a score of at least MIN_SCORE.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trading.patents.identifiers import ipc_levels

WEIGHTS = {"ipc": 0.45, "keywords": 0.35, "region": 0.10, "deal_type": 0.10}
SHARED_LEVEL_SCORE = (0.1, 0.3, 0.6, 0.8)  # section, class, subclass, main group
OVER_BUDGET_FACTOR = 0.7
MIN_SCORE = 40


@dataclass(frozen=True)
class ListingFacts:
    ipc_codes: tuple[str, ...]        # canonical, e.g. "H01M 10/0525"
    tokens: frozenset[str]            # title and abstract tokens
    region_code: str
    deal_types: frozenset[str]
    price_fen: int | None


@dataclass(frozen=True)
class DemandFacts:
    ipc_prefixes: tuple[str, ...]     # compact prefixes, e.g. "H01M", "H01M10/0525"
    tokens: tuple[str, ...]           # keyword tokens (and title tokens)
    region_code: str | None
    deal_types: frozenset[str]        # empty: any
    budget_max_fen: int | None


@dataclass(frozen=True)
class MatchScore:
    score: int
    reasons: tuple[str, ...]


def _prefix_levels(prefix: str) -> list[str]:
    """Levels of a compact prefix: H01M10/0525 -> H, H01, H01M, H01M10, H01M10/0525."""
    levels = [prefix[:1]]
    if len(prefix) >= 3:
        levels.append(prefix[:3])
    if len(prefix) >= 4:
        levels.append(prefix[:4])
    if len(prefix) > 4:
        levels.append(prefix.split("/", 1)[0])
        if "/" in prefix:
            levels.append(prefix)
    return levels


def ipc_similarity(demand_prefix: str, listing_code: str) -> float:
    listing_levels = ipc_levels(listing_code)
    if demand_prefix in listing_levels:
        return 1.0
    shared = 0
    for a, b in zip(_prefix_levels(demand_prefix), listing_levels, strict=False):
        if a != b:
            break
        shared += 1
    return SHARED_LEVEL_SCORE[min(shared, 4) - 1] if shared else 0.0


def _best_ipc(demand: Iterable[str], listing: Iterable[str]) -> tuple[float, str | None]:
    best, why = 0.0, None
    for prefix in demand:
        for code in listing:
            value = ipc_similarity(prefix, code)
            if value > best:
                best, why = value, f"IPC {code} for {prefix}"
    return best, why


def demand_filing_terms(demand: DemandFacts) -> set[str]:
    """The terms an open demand is filed under for the matchmaker, so a published listing finds every
    demand it could be suggested to by reading a few documents by `_id` (`listing_lookup_terms`).

    Chosen from the score's own arithmetic: region and deal type add at most 20 points and a suggestion
    needs 40 after rounding (39.5), so IPC and keywords must bring at least 19.5. A shared keyword is
    found through `kw:` terms. Without one, the IPC part alone must bring 19.5: containment (45, the
    demand's prefix is one of the listing code's levels: `ipc:<prefix>`) or a shared subclass or deeper
    (27 and more: the demand's levels from the subclass down); a shared class (13.5) or section (4.5)
    cannot reach it alone, so those levels are not filed (they would make every demand in H a candidate
    of every listing in H). The unit tests check this against `score` on generated pairs."""
    terms = {f"kw:{t}" for t in demand.tokens}
    for prefix in demand.ipc_prefixes:
        terms.add(f"ipc:{prefix}")
        terms.update(f"ipc:{level}" for level in _prefix_levels(prefix) if len(level) >= 4)
    return terms


def listing_lookup_terms(listing: ListingFacts) -> set[str]:
    """The terms under which the demands a listing could be suggested to are filed (see above)."""
    terms = {f"kw:{t}" for t in listing.tokens}
    for code in listing.ipc_codes:
        terms.update(f"ipc:{level}" for level in ipc_levels(code))
    return terms


def region_similarity(demand_region: str | None, listing_region: str) -> float:
    if demand_region is None:
        return 1.0
    if demand_region[:4] == listing_region[:4] or demand_region == listing_region[:2] + "0000":
        return 1.0
    if demand_region[:2] == listing_region[:2]:
        return 0.5
    return 0.0


def score(listing: ListingFacts, demand: DemandFacts) -> MatchScore | None:
    """The suggestion for this pair, or None when it is not worth suggesting."""
    reasons: list[str] = []
    deal_ok = not demand.deal_types or bool(demand.deal_types & listing.deal_types)
    if not deal_ok:
        return None
    ipc, why = _best_ipc(demand.ipc_prefixes, listing.ipc_codes)
    if why:
        reasons.append(why)
    wanted = set(demand.tokens)
    shared = sorted(wanted & listing.tokens)
    keywords = len(shared) / len(wanted) if wanted else 0.0
    if shared:
        reasons.append("keywords: " + ", ".join(shared[:8]))
    if ipc == 0 and keywords == 0:
        return None
    region = region_similarity(demand.region_code, listing.region_code)
    if demand.region_code and region:
        reasons.append("same city" if region == 1.0 else "same province")
    total = 100 * (WEIGHTS["ipc"] * ipc + WEIGHTS["keywords"] * keywords + WEIGHTS["region"] * region
                   + WEIGHTS["deal_type"] * 1.0)
    budget, price = demand.budget_max_fen, listing.price_fen
    if budget is not None and price is not None and price > budget:
        total *= OVER_BUDGET_FACTOR
        reasons.append("price above budget")
    result = round(total)
    return MatchScore(result, tuple(reasons)) if result >= MIN_SCORE else None
