"""MRR movements and revenue retention from month-end MRR figures (pure: no database).

The input is each customer's MRR at every month end, split by contract chain (a contract and the
contracts that renew it), already rounded to the currency's minor unit; the output is the month's
movements per customer and in total. Definitions (docs/accounting.md, Subscription metrics; after the conventions of
Stripe Billing, ChartMogul and Baremetrics):

- *new*: a customer's first MRR (zero at the previous month end, never above zero before);
- *reactivation*: back from zero after a churn (zero at the previous month end, above zero before);
- *churn*: to zero (minus the whole previous MRR);
- *renewal uplift*: the change of the contract chains renewed in the month (positive or negative);
- *expansion* / *contraction*: the rest of the customer's change, up / down.

Every customer's opening + movements = closing exactly, so the totals tie too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
HUNDRED = Decimal(100)
KINDS = ("new", "expansion", "contraction", "churn", "reactivation", "renewal")


@dataclass
class Movement:
    """One customer's month: MRR at the previous month end (opening), this month end (closing), and
    the movements between them (signed: contraction and churn are negative)."""

    customer: object
    opening: Decimal = ZERO
    closing: Decimal = ZERO
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(KINDS, ZERO))

    @property
    def kind(self) -> str | None:
        """The customer's main movement this month (the largest in size), or None without one."""
        moving = [(abs(v), k) for k, v in self.amounts.items() if v]
        return max(moving)[1] if moving else None


def classify(
    customer,
    opening: Mapping[object, Decimal],
    closing: Mapping[object, Decimal],
    *,
    had_mrr_before: bool,
    renewed: Iterable[object] = (),
) -> Movement:
    """The movements of one customer in one month. ``opening`` and ``closing``: MRR by contract chain
    at the previous and this month end; ``had_mrr_before``: the customer's MRR was above zero at some
    month end before the previous one; ``renewed``: the chains renewed during the month."""
    before = sum(opening.values(), ZERO)
    after = sum(closing.values(), ZERO)
    move = Movement(customer, before, after)
    if before == after:
        return move
    if before <= 0 < after:
        move.amounts["reactivation" if had_mrr_before else "new"] = after - before
    elif after <= 0 < before:
        move.amounts["churn"] = after - before
    elif before <= 0 and after <= 0:
        # Only reachable with a negative MRR, which month_end_mrr never produces; kept tied regardless.
        move.amounts["contraction" if after < before else "expansion"] = after - before
    else:
        renewal = sum((closing.get(k, ZERO) - opening.get(k, ZERO) for k in set(renewed)), ZERO)
        rest = after - before - renewal
        move.amounts["renewal"] = renewal
        if rest > 0:
            move.amounts["expansion"] = rest
        elif rest < 0:
            move.amounts["contraction"] = rest
    return move


def movements(
    series: Mapping[object, Mapping[str, Mapping[object, Decimal]]],
    months: list[str],
    *,
    renewals: Mapping[tuple[object, str], Iterable[object]] | None = None,
) -> dict[str, list[Movement]]:
    """Movements per month for ``months`` (consecutive ``YYYY-MM``; the first is the opening month end
    only, so the result has one entry per month after it). ``series``: customer → month → chain → MRR,
    over every month end from the customer's first (a customer missing from a month has zero);
    ``renewals``: (customer, month) → chains renewed in that month."""
    renewals = renewals or {}
    out: dict[str, list[Movement]] = {m: [] for m in months[1:]}
    for customer, by_month in series.items():
        ever = False
        previous: Mapping[object, Decimal] = {}
        for month in sorted(by_month):
            if month >= months[0]:
                break
            if sum(by_month[month].values(), ZERO) > 0:
                ever = True
        for index, month in enumerate(months):
            current = by_month.get(month, {})
            if index == 0:
                previous = current
                continue
            move = classify(
                customer,
                previous,
                current,
                had_mrr_before=ever,
                renewed=renewals.get((customer, month), ()),
            )
            if sum(previous.values(), ZERO) > 0:
                ever = True
            if move.opening or move.closing:
                out[month].append(move)
            previous = current
    return out


def totals(moves: Iterable[Movement]) -> dict[str, Decimal]:
    """Opening, closing and each movement summed over customers (ties: opening + Σ movements = closing)."""
    result = {"opening": ZERO, "closing": ZERO, **dict.fromkeys(KINDS, ZERO)}
    for move in moves:
        result["opening"] += move.opening
        result["closing"] += move.closing
        for kind, amount in move.amounts.items():
            result[kind] += amount
    return result


def percent(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator / denominator as a percentage to 2 places (ROUND_HALF_UP); None over zero."""
    if not denominator:
        return None
    return (numerator * HUNDRED / denominator).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def month_retention(total: Mapping[str, Decimal]) -> dict[str, Decimal | None]:
    """A month's net and gross revenue retention from its movement totals: of the MRR at the previous
    month end, how much is left at this month end — NRR counting expansion, contraction, churn and
    renewal changes (never new or reactivated MRR), GRR counting only the losses (contraction, churn
    and negative renewal changes)."""
    opening = total["opening"]
    kept = opening + total["expansion"] + total["contraction"] + total["churn"] + total["renewal"]
    return {"nrr": percent(kept, opening), "grr": percent(opening - losses(total), opening)}


def losses(total: Mapping[str, Decimal]) -> Decimal:
    """Contraction, churn and a net negative renewal change, as a positive amount."""
    return -(total["contraction"] + total["churn"] + min(total["renewal"], ZERO))


def cohort_retention(opening: Mapping[object, Decimal], closing: Mapping[object, Decimal]) -> dict:
    """Retention over a range of months, for the cohort of customers with MRR at its opening month end:
    NRR = their MRR at the closing month end ÷ their opening MRR; GRR = each customer's closing MRR
    capped at its opening MRR (expansion does not offset losses), summed, ÷ their opening MRR."""
    cohort = [c for c, v in opening.items() if v > 0]
    start = sum((opening[c] for c in cohort), ZERO)
    end = sum((closing.get(c, ZERO) for c in cohort), ZERO)
    kept = sum((min(closing.get(c, ZERO), opening[c]) for c in cohort), ZERO)
    return {
        "customers": len(cohort),
        "opening_mrr": start,
        "closing_mrr": end,
        "retained_mrr": kept,
        "nrr": percent(end, start),
        "grr": percent(kept, start),
    }
