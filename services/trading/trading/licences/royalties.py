"""Royalty reports: one per licence and period, the royalty due computed from net sales. Pure.

A period is a calendar month (`2026-09`), quarter (`2026-Q3`) or year (`2026`). A report may only
cover a period that has ended and that lies at least partly within the licence's term. Money is
integer fen; the rate is a Decimal percentage; the royalty due is rounded half-up to the fen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from trading.licences.domain import add_months

_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


class PeriodError(ValueError):
    """A period that cannot be reported; the message says why."""


@dataclass(frozen=True)
class Period:
    key: str
    first_day: date
    last_day: date

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text.strip().upper())
        if match is None:
            raise PeriodError(f"{text!r} is not a period such as 2026-09 (month), 2026-Q3 (quarter) or 2026 (year)")
        year = int(match["year"])
        if match["quarter"]:
            first, months = date(year, 3 * int(match["quarter"]) - 2, 1), 3
        elif match["month"]:
            first, months = date(year, int(match["month"]), 1), 1
        else:
            first, months = date(year, 1, 1), 12
        return cls(match.group(0), first, add_months(first, months) - timedelta(days=1))


def check_reportable(period: Period, term_first_day: date, term_last_day: date, today: date) -> None:
    if period.last_day >= today:
        raise PeriodError(f"the period {period.key} has not ended yet (it ends {period.last_day})")
    if period.last_day < term_first_day or period.first_day > term_last_day:
        raise PeriodError(f"the period {period.key} is outside the licence term "
                          f"{term_first_day} to {term_last_day}")


def royalty_due_fen(net_sales_fen: int, rate_percent: Decimal) -> int:
    """Net sales x rate%, rounded half-up to the fen."""
    return int((Decimal(net_sales_fen) * rate_percent / Decimal(100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
