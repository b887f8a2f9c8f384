"""Subscription metrics (issue 17 §6): MRR and ARR at each month end and their movements, bookings vs
billings vs revenue, net and gross revenue retention — one currency at a time, read from the contract
model, the invoices and the ledger. Definitions: docs/accounting.md (Subscription metrics) and ``SUBSCRIPTION_BASIS``.

MRR at a month end is the sum, over the contracts in force on that day, of:
- recurring fees normalized to a month (the full-period fee of the price version in force at the
  quantity on the line, ÷ 1, 3 or 12 for a monthly, quarterly or yearly plan), exact;
- for lines priced on usage (usage lines, and metered charges or minimums of a recurring plan): the
  trailing three-month average of the usage billed (usage, late-usage adjustment and minimum true-up
  lines of finalized invoices issued in the month and the two before it, ÷ 3);
- less the contract's ``forever`` coupons (percent, or a fixed amount per billing period ÷ its months);
  one-time fees and coupons of a limited duration (``once``, ``repeating``) are not recurring and never
  count (Stripe Billing's convention);
rounded once per contract and month end to the currency's minor unit (ROUND_HALF_UP, §1): movements are
differences of these figures, so opening + movements = closing exactly."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import F, Q, Sum
from django.utils import timezone

from billing.catalog.reader import Catalog
from billing.contracts.models import Contract, ContractLine, ContractRenewal, ContractVersion
from billing.contracts.ramp import is_ramp, priced_as, step_ranges
from billing.contracts.terms import line_kinds, line_range, plan_interval, plan_versions_for_line
from billing.models import CouponRedemption, Invoice, InvoiceLine
from billing.pricing import InMemoryUsage, local_midnight, rate_version, version_in_force
from billing.schedule import USAGE
from revops.core.audit.actions import AuditAction
from revops.core.audit.models import AuditEvent
from revops.money import round_money
from revrec.models import JournalLine
from revrec.reports import mrr
from revrec.reports.common import (
    BILLING_SOURCES,
    POSITION_ROLES,
    REVENUE_ROLES,
    ZERO,
    _account_ids,
    _q,
    add_months,
    last_day,
    months_between,
    parse_range,
    period_of,
)

INTERVAL_MONTHS = {"month": 1, "quarter": 3, "year": 12}
IN_FORCE_STATUSES = (Contract.Status.ACTIVE, Contract.Status.TERMINATED, Contract.Status.EXPIRED)
USAGE_KINDS = (InvoiceLine.Kind.USAGE, InvoiceLine.Kind.USAGE_ADJUSTMENT, InvoiceLine.Kind.TRUE_UP)
BILLED_STATUSES = (Invoice.Status.FINALIZED, Invoice.Status.PAID)
USAGE_MONTHS = 3

SUBSCRIPTION_BASIS = (
    "MRR at each month end, per customer, from the contract lines in force that day: recurring fees "
    "normalized to a month (quarterly ÷ 3, yearly ÷ 12), usage-priced lines at the trailing three-month "
    "average of billed usage, less forever coupons; one-time fees and limited-duration coupons excluded; exact, "
    "rounded once per contract to the minor unit. ARR = MRR × 12. Movements per customer: new (first "
    "MRR), expansion and contraction (up or down), churn (to zero), reactivation (back from zero after a "
    "churn), renewal uplift (the change of a contract at its renewal). Opening + movements = closing. "
    "NRR = (opening + expansion + renewal uplift − contraction − churn) ÷ opening; GRR counts only the "
    "losses. Bookings: the contract value (transaction price) when signed, and its changes when amended "
    "or terminated, dated on the activation or change, or the effective date when that is earlier. "
    "Billings: invoiced excluding tax, net of voids and credit notes, as posted to the ledger. Revenue: "
    "recognized in the period (the deferred revenue rollforward's figures)."
)
USAGE_NOTE = (
    "Usage-priced lines count at their trailing three-month average of billed usage: the usage, "
    "late-usage and minimum true-up lines of invoices issued in the month and the two months before, "
    "divided by three."
)


# --- MRR of a contract at a month end ----------------------------------------------------------------------


class ContractMRR:
    """Computes one currency's contracts' MRR at month ends, caching each line's fee per price version
    (a line's MRR changes only when its version, quantity or range does)."""

    def __init__(self, currency: str):
        self.currency = currency
        self.catalog = Catalog()
        self._fees: dict[tuple, Decimal] = {}
        self._versions: dict[tuple, list] = {}
        self._kinds: dict[int, tuple[str, ...]] = {}
        self.usage = _billed_usage(currency)
        self.coupons: dict[int, list[CouponRedemption]] = defaultdict(list)
        for redemption in (
            CouponRedemption.objects.filter(contract__currency=currency, coupon__active=True)
            .select_related("coupon")
            .order_by("id")
        ):
            self.coupons[redemption.contract_id].append(redemption)

    def line_fee(self, line: ContractLine, contract: Contract, day: date) -> Decimal:
        """The line's recurring fees normalized to a month, exact, with the price version in force on
        ``day`` (or at the term start, for a plan whose contracts move versions at renewal) and, for a
        ramp deal, the step in force on ``day``."""
        if line.billing != ContractLine.Billing.RECURRING:
            return ZERO
        step = None
        if is_ramp(line):
            parts = step_ranges(line, day, day + timedelta(days=1))
            if parts:
                step = parts[0][0]
                line = priced_as(line, step)
        if line.plan_id is None:
            return (line.unit_price or ZERO) * line.quantity
        priced = (line.pk, step.start if step else None)
        versions = self._versions.get(priced)
        if versions is None:
            versions = self._versions[priced] = plan_versions_for_line(line, catalog=self.catalog)
        if not versions:
            return ZERO
        pinned = line.plan.version_policy == "at_renewal"
        version = version_in_force(versions, contract.start_date if pinned else day)
        key = (*priced, version.number)
        if key not in self._fees:
            fee_codes = [c.code for c in version.charges if c.meter is None]
            drafts = rate_version(
                version,
                usage=InMemoryUsage([]),
                start=local_midnight(day, "UTC"),
                end=local_midnight(day, "UTC"),
                service=(day, day),
                quantities={code: line.quantity for code in fee_codes},
                charges=fee_codes,
            )
            full_period = sum((d.exact_amount for d in drafts), ZERO)
            self._fees[key] = full_period / INTERVAL_MONTHS[plan_interval(line)]
        return self._fees[key]

    def priced_on_usage(self, line: ContractLine) -> bool:
        if line.billing == ContractLine.Billing.ONE_TIME:
            return False
        if line.billing == ContractLine.Billing.USAGE:
            return True
        if line.pk not in self._kinds:
            self._kinds[line.pk] = line_kinds(line, catalog=self.catalog) if line.plan_id else ()
        return USAGE in self._kinds[line.pk]

    def usage_average(self, contract: Contract, month: str) -> Decimal:
        billed = self.usage.get(contract.pk, {})
        return (
            sum((billed.get(add_months(month, -n), ZERO) for n in range(USAGE_MONTHS)), ZERO) / USAGE_MONTHS
        )

    @staticmethod
    def cadence_months(lines: list[ContractLine]) -> int:
        """Months in the shortest billing interval of the lines (the period a fixed coupon is off)."""
        months = [
            INTERVAL_MONTHS[plan_interval(ln)] for ln in lines if ln.billing != ContractLine.Billing.ONE_TIME
        ]
        return min(months) if months else 1

    def discount(self, contract: Contract, lines: list[ContractLine], day: date, base: Decimal) -> Decimal:
        """The contract's ``forever`` coupons applied by ``day`` (in redemption order, each on what the
        earlier ones left, as invoices apply them), never more than ``base``. Coupons of a limited
        duration (``once``, ``repeating``) leave MRR as it is (Stripe Billing's convention)."""
        total = ZERO
        for redemption in self.coupons.get(contract.pk, ()):
            coupon = redemption.coupon
            if redemption.applied_from > day or coupon.duration != coupon.Duration.FOREVER or base <= 0:
                continue
            if coupon.kind == coupon.Kind.PERCENT:
                off = base * Decimal(coupon.value) / 100
            elif coupon.currency == contract.currency:
                off = min(base, Decimal(coupon.value) / self.cadence_months(lines))
            else:
                continue
            total += off
            base -= off
        return total

    def at(self, contract: Contract, lines: list[ContractLine], month: str) -> Decimal:
        """The contract's MRR at the end of ``month``, rounded once to the minor unit."""
        day = last_day(month)
        in_force = []
        for line in lines:
            start, end = line_range(line, contract)
            if start <= day < end:
                in_force.append(line)
        if not in_force:
            return ZERO
        exact = sum((self.line_fee(line, contract, day) for line in in_force), ZERO)
        if any(self.priced_on_usage(line) for line in in_force):
            exact += self.usage_average(contract, month)
        exact -= self.discount(contract, in_force, day, exact)
        return round_money(max(exact, ZERO), self.currency)


def _billed_usage(currency: str) -> dict[int, dict[str, Decimal]]:
    """Usage billed per contract and issue month: usage, late-usage adjustment and minimum true-up lines
    of finalized (or paid) invoices."""
    rows = (
        InvoiceLine.objects.filter(
            invoice__contract__currency=currency,
            invoice__status__in=BILLED_STATUSES,
            invoice__issue_date__isnull=False,
            kind__in=USAGE_KINDS,
        )
        .values("invoice__contract_id", "invoice__issue_date")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    out: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for row in rows:
        out[row["invoice__contract_id"]][period_of(row["invoice__issue_date"])] += row["amount"] or ZERO
    return out


def _contracts(currency: str) -> list[Contract]:
    return list(
        Contract.objects.filter(currency=currency, status__in=IN_FORCE_STATUSES)
        .select_related("customer")
        .prefetch_related("lines__plan", "lines__product")
        .order_by("id")
    )


def mrr_series(currency: str, *, first: str, last: str) -> tuple[dict, dict[int, dict]]:
    """Customer → month → contract chain → MRR for every month end from the earlier of ``first`` and
    the first contract's start to ``last``; and the customers (id → name, external id)."""
    contracts = _contracts(currency)
    engine = ContractMRR(currency)
    series: dict[int, dict[str, dict[int, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    customers: dict[int, dict] = {}
    for contract in contracts:
        lines = list(contract.lines.all())
        customers[contract.customer_id] = {
            "id": contract.customer_id,
            "name": contract.customer.name,
            "external_id": contract.customer.external_id,
        }
        begin, stop = period_of(contract.start_date), min(period_of(contract.end_date), last)
        for month in months_between(begin, add_months(stop, 1)) if begin <= stop else []:
            value = engine.at(contract, lines, month)
            if value:
                series[contract.customer_id][month][_chain(contract)] = value
    return series, customers


def _chain(contract: Contract) -> int:
    """The contract chain a contract belongs to: the contract itself (a renewal is a new version of the
    same contract, billing.contracts.models.renewals)."""
    return contract.pk


def renewals_by_month(currency: str) -> dict[tuple[int, str], list[int]]:
    """(customer, month) → the contract chains renewed in that month: each applied renewal, in the month
    its new term starts (the first month end at which the renewed lines are in force)."""
    out: dict[tuple[int, str], list[int]] = defaultdict(list)
    for customer, contract, term_start in ContractRenewal.objects.filter(
        status=ContractRenewal.Status.APPLIED, contract__currency=currency
    ).values_list("contract__customer_id", "contract_id", "term_start"):
        out[(customer, period_of(term_start))].append(contract)
    return out


# --- bookings, billings, revenue --------------------------------------------------------------------------


def _local_date(moment: datetime | None) -> date | None:
    return timezone.localdate(moment) if moment else None


def bookings_by_month(currency: str, *, start: str, end: str) -> dict[str, Decimal]:
    """Contract value booked per month: the transaction price at activation, then the change of each
    later version (amendment, termination, reversion), dated on the day it was made — or on its
    effective date when that is earlier (a contract entered after it started was signed by then)."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    contracts = {
        c.pk: c
        for c in Contract.objects.filter(
            currency=currency, status__in=IN_FORCE_STATUSES, activated_at__isnull=False
        )
    }
    if not contracts:
        return out
    activated_price = {}
    for event in AuditEvent.objects.filter(
        action=AuditAction.CONTRACT_ACTIVATED,
        object_type="contracts.contract",
        object_id__in=[str(pk) for pk in contracts],
    ).order_by("seq"):
        activated_price.setdefault(int(event.object_id), event.changes.get("transaction_price"))
    versions = defaultdict(list)
    for version in ContractVersion.objects.filter(contract_id__in=list(contracts)).order_by(
        "contract", "version"
    ):
        versions[version.contract_id].append(version)
    for pk, contract in contracts.items():
        price = Decimal(str(activated_price.get(pk) or contract.transaction_price))
        signed = min(_local_date(contract.activated_at), contract.start_date)
        out[period_of(signed)] += price
        for version in versions[pk]:
            if version.created_at < contract.activated_at or version.kind in ("created", "edited"):
                continue
            after = Decimal(str(version.snapshot.get("transaction_price") or "0"))
            made = min(_local_date(version.created_at), version.effective_date)
            out[period_of(made)] += after - price
            price = after
    return {m: _q(out.get(m, ZERO), currency) for m in months_between(start, end)}


def billings_and_revenue(currency: str, *, start: str, end: str) -> dict[str, dict[str, Decimal]]:
    """Per period: billed (invoices, voids and credit notes posted to deferred revenue and unbilled
    receivables) and recognized revenue — the deferred revenue rollforward's Billed and Recognized."""
    position, revenue = _account_ids(POSITION_ROLES), _account_ids(REVENUE_ROLES)
    net = F("credit") - F("debit")
    rows = (
        JournalLine.objects.filter(entry__currency=currency, entry__period__gte=start, entry__period__lt=end)
        .values("entry__period")
        .annotate(
            billed=Sum(net, filter=Q(account_id__in=position, entry__source_type__in=BILLING_SOURCES)),
            recognized=Sum(net, filter=Q(account_id__in=revenue)),
        )
        .order_by()
    )
    found = {r["entry__period"]: r for r in rows}
    return {
        m: {
            "billings": _q((found.get(m) or {}).get("billed") or ZERO, currency),
            "revenue": _q((found.get(m) or {}).get("recognized") or ZERO, currency),
        }
        for m in months_between(start, end)
    }


# --- the report ----------------------------------------------------------------------------------------------


def subscription_metrics(*, start: str, end: str, currency: str) -> dict:
    """The report for the months [start, end) in ``currency``: see the module docstring."""
    start, end = parse_range(start, end)
    opening_month = add_months(start, -1)
    last = add_months(end, -1)
    months = months_between(start, end)
    series, customers = mrr_series(currency, first=opening_month, last=last)
    moves = mrr.movements(series, [opening_month, *months], renewals=renewals_by_month(currency))
    money = bookings_by_month(currency, start=start, end=end)
    ledger = billings_and_revenue(currency, start=start, end=end)

    def month_end(customer: int, month: str) -> Decimal:
        return sum(series.get(customer, {}).get(month, {}).values(), ZERO)

    mrr_at: dict[str, Decimal] = defaultdict(lambda: ZERO)  # every customer's MRR at each month end
    paying: dict[str, int] = defaultdict(int)
    for by_month in series.values():
        for month, chains in by_month.items():
            value = sum(chains.values(), ZERO)
            mrr_at[month] += value
            paying[month] += value > 0

    rows = []
    for month in months:
        total = mrr.totals(moves[month])
        movement = sum((total[k] for k in mrr.KINDS), ZERO)
        opening, closing = mrr_at[add_months(month, -1)], mrr_at[month]
        count = paying[month]
        rows.append(
            {
                "period": month,
                "opening_mrr": opening,
                **{kind: total[kind] for kind in mrr.KINDS},
                "net_new_mrr": movement,
                "closing_mrr": closing,
                "closing_arr": closing * 12,
                "ties": opening + movement == closing,
                "customers": count,
                "arpa": _q(closing / count, currency) if count else ZERO,
                **mrr.month_retention(total),
                "bookings": money[month],
                "billings": ledger[month]["billings"],
                "revenue": ledger[month]["revenue"],
            }
        )
    range_totals = {kind: sum((r[kind] for r in rows), ZERO) for kind in mrr.KINDS}
    for key in ("bookings", "billings", "revenue", "net_new_mrr"):
        range_totals[key] = sum((r[key] for r in rows), ZERO)
    opening_by_customer = {c: month_end(c, opening_month) for c in series}
    closing_by_customer = {c: month_end(c, last) for c in series}
    moved: dict[int, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(mrr.KINDS, ZERO))
    for month in months:
        for move in moves[month]:
            for kind, amount in move.amounts.items():
                moved[move.customer][kind] += amount
    by_customer = []
    for customer in series:
        amounts = moved.get(customer) or dict.fromkeys(mrr.KINDS, ZERO)
        opening, closing = opening_by_customer[customer], closing_by_customer[customer]
        if not (opening or closing or any(amounts.values())):
            continue
        by_customer.append({**customers[customer], "opening_mrr": opening, **amounts, "closing_mrr": closing})
    by_customer.sort(key=lambda c: (-c["closing_mrr"], -c["opening_mrr"], c["name"]))
    opening_total = sum(opening_by_customer.values(), ZERO)
    closing_total = sum(closing_by_customer.values(), ZERO)
    return {
        "currency": currency,
        "start": start,
        "end": end,
        "months": months,
        "basis": SUBSCRIPTION_BASIS,
        "usage_note": USAGE_NOTE,
        "opening_mrr": opening_total,
        "closing_mrr": closing_total,
        "closing_arr": closing_total * 12,
        "customers": paying[last],
        "ties": all(r["ties"] for r in rows),
        "rows": rows,
        "totals": range_totals,
        "retention": mrr.cohort_retention(opening_by_customer, closing_by_customer),
        "by_customer": by_customer,
    }
