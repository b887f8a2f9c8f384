"""Re-performance: recompute every invoice line and schedule of a period from the stored contracts,
price versions and usage events with the same pure functions, and list every difference."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

ZERO = Decimal(0)


@dataclass(frozen=True)
class Difference:
    object: str
    field: str
    stored: str
    recomputed: str
    note: str = ""

    def __str__(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.object} {self.field}: stored {self.stored}, recomputed {self.recomputed}{note}"


def _usage_line(line) -> tuple[Decimal, int, str]:
    from billing.catalog.selectors import charge_def
    from billing.invoicing.usage_source import SqlUsage
    from billing.models import Charge
    from billing.pricing import rate_charge

    charge = charge_def(Charge.objects.get(version=line.price_version, code=line.charge_code))
    customer = line.invoice.customer
    full = SqlUsage(customer, received_through=line.received_through)
    drafts = rate_charge(
        charge,
        currency=line.invoice.currency,
        usage=full,
        start=line.usage_start,
        end=line.usage_end,
        service=(line.service_start, line.service_end),
        version=line.price_version.number,
        quantity=line.contract_line.quantity if line.contract_line_id else None,
    )
    match = next((d for d in drafts if dict(d.dimension) == (line.dimension or {})), None)
    amount = match.amount if match else ZERO
    scope = SqlUsage(customer, received_through=line.received_through, received_after=line.received_after)
    count, digest = scope.fingerprint(
        charge.meter,
        match=line.event_match or None,
        exclude=line.event_exclude or [],
        start=line.usage_start,
        end=line.usage_end,
    )
    if line.kind == "usage_adjustment" and line.adjusts_id:
        earlier = line.adjusts.amount + (
            line.adjusts.adjustments.exclude(pk=line.pk)
            .filter(pk__lt=line.pk)
            .exclude(invoice__status="void")
            .aggregate(s=Sum("amount"))["s"]
            or ZERO
        )
        amount -= earlier
    return amount, count, digest


def _fee_line(line) -> Decimal:
    from billing.contracts.ramp import is_ramp, priced_as, step_ranges
    from billing.contracts.terms import plan_interval, plan_versions_for_line
    from billing.periods import period_containing
    from billing.pricing import InMemoryUsage, rate_period

    contract_line = line.contract_line
    contract = line.invoice.contract
    if is_ramp(contract_line):  # a ramp line's fee line lies within one step: priced by it (§5a)
        parts = step_ranges(contract_line, line.service_start, line.service_end)
        if parts:
            contract_line = priced_as(contract_line, parts[0][0])
    full = period_containing(
        line.service_start,
        anchor_date=contract.start_date,
        interval=plan_interval(contract_line),
        anchor=contract.billing_anchor,
    )
    if contract_line.plan_id is None:
        exact = (
            (contract_line.unit_price or ZERO)
            * contract_line.quantity
            * (line.service_end - line.service_start).days
            / full.days
        )
        from revops.money import round_money

        return round_money(Decimal(exact), contract.currency)
    versions = [v for v in plan_versions_for_line(contract_line) if v.number == line.price_version.number]
    drafts = rate_period(
        versions,
        start=line.service_start,
        end=line.service_end,
        tz_name="UTC",
        usage=InMemoryUsage([]),
        charges=[line.charge_code],
        quantities={line.charge_code: contract_line.quantity},
        period=(full.start, full.end),
        true_up=False,
    )
    return sum((d.amount for d in drafts), ZERO)


def reperform_invoice(invoice) -> list[Difference]:
    from revops.money import round_money

    diffs: list[Difference] = []
    label = f"invoice {invoice.reference}"
    for line in invoice.lines.select_related(
        "contract_line__plan", "price_version", "meter", "adjusts", "invoice__customer"
    ):
        where = f"{label} line {line.pk} ({line.description})"
        try:
            if line.meter_id and line.kind in ("usage", "usage_adjustment"):
                amount, count, digest = _usage_line(line)
                if line.event_count is not None and count != line.event_count:
                    diffs.append(Difference(where, "event_count", str(line.event_count), str(count)))
                if line.event_hash and digest != line.event_hash:
                    diffs.append(Difference(where, "event_hash", line.event_hash[:16], digest[:16]))
            elif line.kind == "fee" and line.contract_line_id:
                amount = _fee_line(line)
            elif line.kind == "one_time":
                cl = line.contract_line
                amount = round_money(
                    Decimal(cl.amount if cl.amount is not None else (cl.unit_price or ZERO) * cl.quantity),
                    invoice.currency,
                )
            elif line.kind == "proration" and hasattr(line, "pending_charge"):
                amount = line.pending_charge.amount
            else:
                continue  # true-up and coupon lines are checked through the totals below
        except Exception as exc:  # noqa: BLE001 - a line that cannot be re-performed is itself a difference
            diffs.append(Difference(where, "amount", str(line.amount), "n/a", f"could not re-perform: {exc}"))
            continue
        if amount != line.amount:
            diffs.append(Difference(where, "amount", str(line.amount), str(amount)))
    lines_total = invoice.lines.aggregate(s=Sum("amount"))["s"] or ZERO
    if lines_total != invoice.subtotal:
        diffs.append(Difference(label, "subtotal", str(invoice.subtotal), str(lines_total)))
    taxable = invoice.lines.filter(taxable=True).aggregate(s=Sum("amount"))["s"] or ZERO
    tax = round_money(taxable * invoice.tax_rate / 100, invoice.currency)
    if tax != invoice.tax:
        diffs.append(Difference(label, "tax", str(invoice.tax), str(tax)))
    if invoice.total != invoice.subtotal + invoice.tax - invoice.credits_applied:
        diffs.append(
            Difference(
                label,
                "total",
                str(invoice.total),
                str(invoice.subtotal + invoice.tax - invoice.credits_applied),
            )
        )
    return diffs


def reperform_schedules(period: str) -> list[Difference]:
    from revrec.models import RevenueSchedule
    from revrec.services.schedules import schedule_lines_for

    diffs = []
    for sched in RevenueSchedule.objects.filter(
        status="approved", treatment="initial", lines__period=period
    ).distinct():
        expected = {ln.period: ln.amount for ln in schedule_lines_for(sched.obligation)}
        for ln in sched.lines.filter(period=period):
            if expected.get(ln.period, ZERO) != ln.amount:
                diffs.append(
                    Difference(
                        f"schedule {sched.pk} v{sched.version} ({sched.obligation.key})",
                        f"period {ln.period}",
                        str(ln.amount),
                        str(expected.get(ln.period, ZERO)),
                    )
                )
    return diffs


def reperform_ledger(period: str) -> list[Difference]:
    """A closed period: the ledger through it, recomputed from the journal now, against the snapshot
    taken when it closed (cumulative balances per currency and account, and a digest of the same by
    contract, obligation and product)."""
    from revrec.models import AccountingPeriod
    from revrec.services.periods import latest_snapshot, ledger_snapshot

    closed = AccountingPeriod.objects.filter(period=period, status="closed").first()
    if closed is None:
        return []
    snapshot = latest_snapshot(closed)
    if snapshot is None:
        return [Difference(f"period {period}", "ledger snapshot", "missing", "n/a", "closed without one")]
    balances, digest, count = ledger_snapshot(period)
    if digest == snapshot.digest:
        return []
    diffs = []
    for currency in sorted(set(balances) | set(snapshot.balances)):
        now, then = balances.get(currency, {}), snapshot.balances.get(currency, {})
        for code in sorted(set(now) | set(then)):
            a = then.get(code, {"debit": "0", "credit": "0"})
            b = now.get(code, {"debit": "0", "credit": "0"})
            for side in ("debit", "credit"):
                if Decimal(a[side]) != Decimal(b[side]):
                    diffs.append(
                        Difference(
                            f"ledger through {period} account {code} ({currency})",
                            f"{side}s",
                            a[side],
                            b[side],
                            "the closed period's balance changed since it closed",
                        )
                    )
    if count != snapshot.lines:
        diffs.append(Difference(f"ledger through {period}", "journal lines", str(snapshot.lines), str(count)))
    if not diffs:
        diffs.append(
            Difference(
                f"ledger through {period}",
                "digest",
                snapshot.digest[:16],
                digest[:16],
                "balances by contract, obligation or product changed since the close",
            )
        )
    return diffs


def reperform_period(period: str) -> tuple[int, int, list[Difference]]:
    from billing.models import Invoice
    from revrec.services.periods import period_bounds

    start, end = period_bounds(period)
    invoices = (
        Invoice.objects.filter(billing_date__gte=start, billing_date__lt=end)
        .exclude(status="void")
        .select_related("contract", "customer")
    )
    diffs: list[Difference] = []
    count = 0
    for invoice in invoices:
        count += 1
        diffs.extend(reperform_invoice(invoice))
    schedule_diffs = reperform_schedules(period)
    diffs.extend(schedule_diffs)
    diffs.extend(reperform_ledger(period))
    return count, len(schedule_diffs), diffs
