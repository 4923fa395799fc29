"""Where trading's deal figures are counted (servicekit.tallies): the ids and paths of the tally
documents that the deal aggregates contribute to and that the gauges and a fair's statistics read.

Kept incrementally with each deal's change instead of recounted from the deals: a fair's statistics
and the deal gauges then cost one `_id` read each, however many deals there are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from servicekit import tallies

# Every fair, so the gauges know which fairs to export without listing the fairs collection.
FAIRS = "fairs"
# Licences on record by type, and pending recordals by their deadline (a date; those before today are
# overdue, so the count of overdue recordals needs no timer to move anything).
LICENCES = "licences"
# Pledges in force and the amount they secure.
PLEDGES = "pledges"


def fair(fair_id: str) -> str:
    """The tally of one fair's deals."""
    return f"fair:{tallies.key(fair_id)}"


def figures(tally: Mapping[str, Any]) -> dict[str, Any]:
    """A fair's deal figures as its statistics show them, from its tally."""
    by_type = {t: {"count": tallies.amount(tally, f"licences_by_type.{t}.count"),
                   "amount_fen": tallies.amount(tally, f"licences_by_type.{t}.amount_fen")}
               for t in sorted(tallies.amounts(tally, "licence_types"))}
    return {
        "negotiations": tallies.amount(tally, "negotiations"),
        "offers": tallies.amount(tally, "offers"),
        "offers_accepted": tallies.amount(tally, "offers_accepted"),
        "licences": {"count": tallies.amount(tally, "licences.count"),
                     "amount_fen": tallies.amount(tally, "licences.amount_fen")},
        "licences_by_type": by_type,
        "transfers": {"count": tallies.amount(tally, "transfers.count"),
                      "amount_fen": tallies.amount(tally, "transfers.amount_fen")},
        "pledges": {"count": tallies.amount(tally, "pledges.count"),
                    "amount_fen": tallies.amount(tally, "pledges.amount_fen")},
    }
