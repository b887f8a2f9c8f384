"""Ramp deals, invoices vs revenue step by step (issue 17 §5, accounting.md §5a).

For each ramp line of a contract and each of its steps: what the contract bills for the step (the
step's prices, prorated as billing charges them), what the obligation's revenue schedule recognizes
over the same days (the allocated transaction price spread by the obligation's pattern — straight
line for a ratable one), and the position this leaves at the step's end: billed − recognized
cumulatively, a **contract asset** (unbilled receivable) when revenue ran ahead of the invoices, a
**contract liability** (deferred revenue) when the invoices ran ahead. Next to the plan, what was
actually invoiced (finalized invoices) and posted (schedule lines posted to the ledger) so far.

A schedule line is a month; a step that starts inside a month takes the month's days after its start,
by cumulative rounding (the cut-off at the step's start is rounded once, §5), so the steps' revenue
sums exactly to the schedule. Reads only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Sum

from billing.contracts.models import Contract
from billing.contracts.ramp import is_ramp
from billing.contracts.value import ramp_step_values
from billing.models import Invoice, InvoiceLine
from revops.money import round_money
from revrec.selectors import current_schedule, obligations_of

ZERO = Decimal(0)
BILLED_KINDS = (InvoiceLine.Kind.FEE, InvoiceLine.Kind.PRORATION)


def _through(lines, cut: date, currency: str) -> Decimal:
    """What schedule LINES recognize before CUT: whole lines that end by then, and the part of the line
    CUT falls in by its days (rounded once)."""
    total = ZERO
    for ln in lines:
        if ln.end <= cut:
            total += ln.amount
        elif ln.start < cut:
            total += round_money(
                Decimal(ln.amount) * (cut - ln.start).days / (ln.end - ln.start).days, currency
            )
    return total


def _billed(contract: Contract, key: str, lo: date, hi: date) -> Decimal:
    total = (
        InvoiceLine.objects.filter(
            invoice__contract=contract,
            invoice__status__in=[Invoice.Status.FINALIZED, Invoice.Status.PAID],
            contract_line__key=key,
            kind__in=BILLED_KINDS,
            service_start__gte=lo,
            service_start__lt=hi,
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    return Decimal(total)


def _position(balance: Decimal) -> str:
    if balance > 0:
        return "contract_liability"
    if balance < 0:
        return "contract_asset"
    return "none"


def contract_ramps(contract: Contract) -> list[dict]:
    """Per ramp line (its current revision): the obligation it belongs to and its steps side by side
    (amounts are Decimals at the minor unit; the API and the page render them)."""
    lines = [
        ln for ln in contract.lines.select_related("plan", "product").order_by("position", "key", "-revision")
    ]
    latest: dict[str, object] = {}
    for ln in lines:
        latest.setdefault(ln.key, ln)
    ramps = [ln for ln in latest.values() if is_ramp(ln)]
    if not ramps:
        return []
    pos = list(obligations_of(contract))
    out = []
    currency = contract.currency
    for line in ramps:
        po = next(
            (p for p in pos if not p.variable and any(cl.key == line.key for cl in p.lines.all())), None
        )
        sched = current_schedule(po) if po is not None else None
        sched_lines = list(sched.lines.all()) if sched is not None else []
        posted = [ln for ln in sched_lines if ln.posted_entry_id is not None]
        steps = []
        cum_billing = cum_revenue = ZERO
        for step, lo, hi, billing in ramp_step_values(line, contract):
            revenue = _through(sched_lines, hi, currency) - _through(sched_lines, lo, currency)
            recognized = _through(posted, hi, currency) - _through(posted, lo, currency)
            cum_billing += billing
            cum_revenue += revenue
            balance = cum_billing - cum_revenue
            steps.append(
                {
                    "from": lo,
                    "to": hi,
                    "unit_price": step.unit_price,
                    "amount": step.amount,
                    "billing": billing,
                    "revenue": revenue,
                    "difference": billing - revenue,
                    "balance_at_end": balance,
                    "position_at_end": _position(balance),
                    "billed": _billed(contract, line.key, lo, hi),
                    "recognized": recognized,
                }
            )
        out.append(
            {
                "line": line.key,
                "obligation": po.key if po is not None else None,
                "recognition": po.recognition if po is not None else None,
                "allocated_amount": po.allocated_amount if po is not None else None,
                "schedule_status": sched.status if sched is not None else None,
                "billing_total": cum_billing,
                "revenue_total": cum_revenue,
                "steps": steps,
            }
        )
    return out
