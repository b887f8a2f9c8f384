"""The measure of progress of an input-method obligation (accounting.md §10a, IFRS 15.B18–B19): the
latest total expected costs and the costs incurred per period, and the schedule lines they give. Read
by the schedules (a new obligation's first schedule) and by ``progress`` (each cost record revises the
schedule)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from revops.money import round_money
from revrec import recognition
from revrec.models import ObligationCost, PerformanceObligation

ZERO = Decimal(0)


@dataclass(frozen=True)
class Progress:
    expected_total: Decimal | None
    incurred: dict[str, Decimal]

    @property
    def incurred_to_date(self) -> Decimal:
        return sum(self.incurred.values(), ZERO)

    def measure(self, places: int | None = None) -> Fraction | None:
        if not self.expected_total:
            return None
        return recognition.input_progress(self.incurred_to_date, self.expected_total, places=places)


def progress_of(po: PerformanceObligation) -> Progress:
    """The latest total expected costs and the costs incurred per period (Σ of the period's records)."""
    expected, incurred = None, {}
    for cost in po.costs.order_by("id"):
        if cost.kind == ObligationCost.Kind.EXPECTED_TOTAL:
            expected = cost.amount
        else:
            incurred[cost.period] = incurred.get(cost.period, ZERO) + cost.amount
    return Progress(expected, incurred)


def input_lines(po: PerformanceObligation, *, amount: Decimal, existing, cut: str | None) -> list:
    progress = progress_of(po)
    return recognition.input_schedule(
        currency=po.currency,
        amount=round_money(amount, po.currency),
        start=po.start,
        end=po.end,
        incurred=progress.incurred,
        expected_total=progress.expected_total,
        existing=existing,
        recognized_through=cut,
        places=po.progress_places,
    )
