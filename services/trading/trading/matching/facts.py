"""What the matchmaker compares, read off the stored listing and demand documents (pure)."""

from __future__ import annotations

from servicekit.mongo import Document

from trading.listings.tokens import tokens
from trading.matching.scoring import DemandFacts, ListingFacts


def listing_facts(doc: Document) -> ListingFacts:
    return ListingFacts(ipc_codes=tuple(doc.get("ipc_codes") or ()),
                        tokens=frozenset(tokens(f"{doc['title']} {doc.get('abstract') or ''}")),
                        region_code=doc["region_code"], deal_types=frozenset(doc["deal_types"]),
                        price_fen=doc.get("price_fen"))


def demand_facts(doc: Document) -> DemandFacts:
    words = tokens(" ".join(doc.get("keywords") or ())) or tokens(doc["title"])
    return DemandFacts(ipc_prefixes=tuple(doc.get("ipc_codes") or ()), tokens=tuple(words),
                       region_code=doc.get("region_code"), deal_types=frozenset(doc.get("deal_types") or ()),
                       budget_max_fen=doc.get("budget_max_fen"))
