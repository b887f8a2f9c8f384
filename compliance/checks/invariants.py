"""The invariants of accounting.md §7 and the additional controls of issue 7, as checks.

Each check reads the stored records independently of the code that wrote them (it re-adds, re-links
and re-derives), so a fault planted by any path — a bug, a manual SQL edit — shows up."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Sum

from billing.models import Invoice, InvoiceLine
from compliance.checks.registry import Finding, check, ref
from revops.contracts.models import Contract, ContractLine
from revops.money import round_money, stored_sum

ZERO = Decimal(0)


def _sum(qs, field_name: str) -> Decimal:
    return stored_sum(qs.aggregate(s=Sum(field_name))["s"])


@check(
    "allocation_equals_price",
    title="Allocations sum to the transaction price",
    invariant="Σ allocations of a contract = its transaction price, exactly (§7.1)",
    severity="critical",
)
def allocation_equals_price() -> list[Finding]:
    from revrec.models import ContractModification, PerformanceObligation

    out = []
    pending = set(
        ContractModification.objects.filter(status="pending_approval").values_list("contract_id", flat=True)
    )
    rows = (
        PerformanceObligation.objects.filter(status="active", variable=False)
        .values("contract_id")
        .annotate(
            total=Sum("allocated_amount"), fixed=Sum("fixed_price"), variable=Sum("variable_consideration")
        )
    )
    for row in rows:
        if row["contract_id"] in pending:
            continue
        contract = Contract.objects.get(pk=row["contract_id"])
        # the transaction price: fixed consideration + constrained variable consideration (§10a)
        row["total"] = stored_sum(row["total"])
        row["fixed"] = stored_sum(row["fixed"]) + stored_sum(row["variable"])
        if row["total"] != row["fixed"]:
            out.append(
                Finding(
                    *ref(contract),
                    f"{contract.number}: allocations sum to {row['total']} but the "
                    f"consideration of its obligations is {row['fixed']}.",
                    {"allocated": row["total"], "price": row["fixed"]},
                )
            )
        if contract.status == "active" and row["fixed"] != contract.transaction_price:
            out.append(
                Finding(
                    *ref(contract),
                    f"{contract.number}: obligations carry {row['fixed']} but the contract's "
                    f"transaction price is {contract.transaction_price}.",
                    {"obligations": row["fixed"], "transaction_price": contract.transaction_price},
                )
            )
    return out


@check(
    "schedule_equals_allocation",
    title="Schedules sum to the allocation",
    invariant="Σ schedule lines of a PO = its allocation, exactly (§7.2)",
    severity="critical",
)
def schedule_equals_allocation() -> list[Finding]:
    from revrec.models import RevenueSchedule

    out = []
    for sched in RevenueSchedule.objects.filter(
        status="approved", obligation__status="active"
    ).select_related("obligation"):
        total = _sum(sched.lines.all(), "amount")
        if total != sched.obligation.allocated_amount:
            out.append(
                Finding(
                    *ref(sched),
                    f"Schedule v{sched.version} of {sched.obligation.key} sums to {total}; "
                    f"the obligation's allocation is {sched.obligation.allocated_amount}.",
                    {"schedule": total, "allocation": sched.obligation.allocated_amount},
                )
            )
    return out


def _unbalanced(rows):
    """Groups whose debits and credits differ. PostgreSQL compares the exact sums in SQL; SQLite sums
    in floating point, so there the sums are brought back to the storage precision and compared here."""
    if connection.vendor == "postgresql":
        return list(rows.filter(~Q(d=F("c"))))
    out = []
    for row in rows:
        row["d"], row["c"] = stored_sum(row["d"]), stored_sum(row["c"])
        if row["d"] != row["c"]:
            out.append(row)
    return out


@check(
    "entries_balance",
    title="Every journal entry and the trial balance balance",
    invariant="Debits = credits in every entry and in every period's trial balance (§7.3)",
    severity="critical",
)
def entries_balance() -> list[Finding]:
    from revrec.models import JournalEntry, JournalLine

    out = []
    bad = _unbalanced(JournalLine.objects.values("entry_id").annotate(d=Sum("debit"), c=Sum("credit")))
    for row in bad:
        entry = JournalEntry.objects.get(pk=row["entry_id"])
        out.append(
            Finding(
                *ref(entry),
                f"Entry {entry.pk} ({entry.memo}) has debits {row['d']} and credits {row['c']}.",
                {"debit": row["d"], "credit": row["c"]},
            )
        )
    for row in _unbalanced(
        JournalLine.objects.values("entry__period").annotate(d=Sum("debit"), c=Sum("credit"))
    ):
        out.append(
            Finding(
                "revrec.accountingperiod",
                row["entry__period"],
                f"The trial balance of {row['entry__period']} is out by {row['d'] - row['c']}.",
                {"debit": row["d"], "credit": row["c"]},
            )
        )
    return out


@check(
    "deferred_rollforward",
    title="Deferred revenue rolls forward",
    invariant="Opening + billed − recognized = closing, per contract and in total (§7.4)",
    severity="critical",
)
def deferred_rollforward() -> list[Finding]:
    """Billed from the invoices (an independent record) against the ledger's contract balances."""
    from revrec.models import JournalLine

    out = []
    ledger = defaultdict(lambda: ZERO)
    for row in (
        JournalLine.objects.filter(account__role__in=["deferred", "unbilled"], contract__isnull=False)
        .values("contract_id")
        .annotate(d=Sum("debit"), c=Sum("credit"))
    ):
        ledger[row["contract_id"]] = stored_sum(row["c"]) - stored_sum(row["d"])
    recognized = defaultdict(lambda: ZERO)
    for row in (
        JournalLine.objects.filter(
            account__role__in=["revenue", "revenue_sub", "contra"], contract__isnull=False
        )
        .values("contract_id")
        .annotate(d=Sum("debit"), c=Sum("credit"))
    ):
        recognized[row["contract_id"]] = stored_sum(row["c"]) - stored_sum(row["d"])
    billed = defaultdict(lambda: ZERO)
    for inv in (
        Invoice.objects.filter(status__in=["finalized", "paid"])
        .values("contract_id")
        .annotate(s=Sum("subtotal"))
    ):
        billed[inv["contract_id"]] += stored_sum(inv["s"])
    from billing.models import CreditNote

    for row in CreditNote.objects.values("invoice__contract_id").annotate(s=Sum("subtotal")):
        billed[row["invoice__contract_id"]] -= stored_sum(row["s"])
    for contract_id in set(ledger) | set(billed):
        closing = ledger[contract_id]
        expected = billed[contract_id] - recognized[contract_id]
        if closing != expected:
            contract = Contract.objects.get(pk=contract_id)
            out.append(
                Finding(
                    *ref(contract),
                    f"{contract.number}: billed {billed[contract_id]} − recognized "
                    f"{recognized[contract_id]} = {expected}, but the contract's deferred/unbilled net "
                    f"balance is {closing}.",
                    {
                        "billed": billed[contract_id],
                        "recognized": recognized[contract_id],
                        "closing": closing,
                    },
                )
            )
    return out


@check(
    "recognized_within_allocation",
    title="Recognized to date ≤ allocated",
    invariant="Revenue recognized for a fixed-consideration PO never exceeds its allocation (§7.5)",
    severity="critical",
)
def recognized_within_allocation() -> list[Finding]:
    from revrec.models import JournalLine, PerformanceObligation

    out = []
    rows = (
        JournalLine.objects.filter(account__role__in=["revenue", "revenue_sub"], obligation__variable=False)
        .values("obligation_id")
        .annotate(c=Sum("credit"), d=Sum("debit"))
    )
    for row in rows:
        po = PerformanceObligation.objects.get(pk=row["obligation_id"])
        earned = stored_sum(row["c"]) - stored_sum(row["d"])
        if earned > po.allocated_amount:
            out.append(
                Finding(
                    *ref(po),
                    f"{po.key}: recognized {earned} exceeds its allocation {po.allocated_amount}.",
                    {"recognized": earned, "allocated": po.allocated_amount},
                )
            )
    return out


@check(
    "invoice_totals",
    title="Invoice totals add up",
    invariant="Invoice total = Σ lines + tax − credits applied (§7.6)",
    severity="critical",
)
def invoice_totals() -> list[Finding]:
    out = []
    qs = Invoice.objects.exclude(status="draft").annotate(lines_total=Sum("lines__amount"))
    for inv in qs:
        lines = stored_sum(inv.lines_total)
        if inv.subtotal != lines or inv.total != lines + inv.tax - inv.credits_applied:
            out.append(
                Finding(
                    *ref(inv),
                    f"Invoice {inv.number}: lines {lines}, subtotal {inv.subtotal}, tax {inv.tax}, "
                    f"credits {inv.credits_applied}, total {inv.total} do not add up.",
                    {"lines": lines, "subtotal": inv.subtotal, "total": inv.total},
                )
            )
        expected_tax = round_money(
            _sum(inv.lines.filter(taxable=True), "amount") * inv.tax_rate / 100, inv.currency
        )
        if inv.tax != expected_tax:
            out.append(
                Finding(
                    *ref(inv),
                    f"Invoice {inv.number}: tax {inv.tax} ≠ {expected_tax} at {inv.tax_rate}%.",
                    {"tax": inv.tax, "expected": expected_tax},
                )
            )
    return out


@check(
    "invoice_numbers_gapless",
    title="Invoice numbers are unique and gapless",
    invariant="Finalized invoice numbers are unique and gapless per legal entity (§7.6)",
    severity="critical",
)
def invoice_numbers_gapless() -> list[Finding]:
    out = []
    for row in (
        Invoice.objects.filter(sequence__isnull=False).values("legal_entity_id").annotate(n=Count("id"))
    ):
        sequences = sorted(
            Invoice.objects.filter(
                legal_entity_id=row["legal_entity_id"], sequence__isnull=False
            ).values_list("sequence", flat=True)
        )
        expected = list(range(1, len(sequences) + 1))
        if sequences != expected:
            missing = sorted(set(expected) - set(sequences))[:20]
            dupes = sorted({s for s in sequences if sequences.count(s) > 1})[:20]
            out.append(
                Finding(
                    "contracts.legalentity",
                    str(row["legal_entity_id"]),
                    f"Invoice numbering has gaps {missing} or duplicates {dupes}.",
                    {"missing": missing, "duplicates": dupes},
                )
            )
    return out


@check(
    "usage_counted_once",
    title="Usage is billed at most once",
    invariant="Each usage event is counted at most once, on at most one invoice (§7.7)",
    severity="critical",
)
def usage_counted_once() -> list[Finding]:
    out = []
    originals = (
        InvoiceLine.objects.filter(kind="usage", meter__isnull=False)
        .exclude(invoice__status="void")
        .values(
            "contract_line_id", "charge_code", "dimension", "usage_start", "usage_end", "pk", "invoice_id"
        )
    )
    by_key = defaultdict(list)
    for row in originals:
        by_key[
            (row["contract_line_id"], row["charge_code"], str(sorted((row["dimension"] or {}).items())))
        ].append(row)
    for rows in by_key.values():
        rows.sort(key=lambda r: r["usage_start"])
        for a, b in zip(rows, rows[1:], strict=False):
            if b["usage_start"] < a["usage_end"]:
                out.append(
                    Finding(
                        "billing.invoiceline",
                        str(b["pk"]),
                        f"Usage window of line {b['pk']} overlaps line {a['pk']} (same charge and dimension): "
                        "events in the overlap would be billed twice.",
                        {"lines": [a["pk"], b["pk"]], "invoices": [a["invoice_id"], b["invoice_id"]]},
                    )
                )
    for adj in (
        InvoiceLine.objects.filter(kind="usage_adjustment")
        .exclude(invoice__status="void")
        .select_related("adjusts")
    ):
        if (
            adj.adjusts
            and adj.received_after is not None
            and adj.received_after < adj.adjusts.received_through
        ):
            out.append(
                Finding(
                    *ref(adj),
                    f"Late-usage line {adj.pk} re-covers events already billed by line {adj.adjusts_id}.",
                )
            )
    return out


@check(
    "nothing_posted_in_closed_periods",
    title="Nothing posts into a closed period",
    invariant="No entry lands in a closed period after it closed, and the ledger through each closed "
    "period still equals its snapshot taken at close (§7.8, §9)",
    severity="critical",
)
def nothing_posted_in_closed_periods() -> list[Finding]:
    from revrec.models import AccountingPeriod, JournalEntry
    from revrec.services.periods import latest_snapshot, period_bounds, snapshot_differences

    out = []
    for period in AccountingPeriod.objects.filter(status="closed", closed_at__isnull=False):
        start, end = period_bounds(period.period)
        late = JournalEntry.objects.filter(
            Q(period=period.period) | Q(date__gte=start, date__lt=end), created_at__gt=period.closed_at
        )
        for entry in late[:50]:
            out.append(
                Finding(*ref(entry), f"Entry {entry.pk} was posted into {period.period} after it closed.")
            )
        snapshot = latest_snapshot(period)
        if snapshot is None:
            out.append(
                Finding(*ref(period), f"{period.period} is closed but has no ledger snapshot from its close.")
            )
            continue
        differences = snapshot_differences(snapshot)
        if differences:
            out.append(
                Finding(
                    *ref(period),
                    f"The ledger through closed period {period.period} changed since it closed: "
                    + "; ".join(differences[:10]),
                    {"differences": differences[:50]},
                )
            )
    return out


@check(
    "invoice_lines_map_to_obligations",
    title="Every invoice line maps to a performance obligation",
    invariant="Each billed line belongs to a PO of its contract",
    severity="high",
)
def invoice_lines_map_to_obligations() -> list[Finding]:
    from revrec.models import PerformanceObligation

    out = []
    with_pos = set(PerformanceObligation.objects.values_list("contract_id", flat=True).distinct())
    # An amended line's new revision belongs to the PO of the same line key until the modification is
    # approved (revrec.services.obligations.obligation_for_invoice_line maps it so when posting).
    same_key = PerformanceObligation.objects.filter(
        contract_id=OuterRef("invoice__contract_id"), lines__key=OuterRef("contract_line__key")
    )
    lines = (
        InvoiceLine.objects.filter(invoice__status__in=["finalized", "paid"], contract_line__isnull=False)
        .exclude(contract_line__performance_obligations__isnull=False)
        .exclude(Exists(same_key))
        .select_related("invoice")
    )
    for line in lines[:200]:
        if line.invoice.contract_id in with_pos:
            out.append(
                Finding(
                    *ref(line),
                    f"Line '{line.description}' of invoice {line.invoice.number} maps to no "
                    "performance obligation.",
                )
            )
    missing = (
        Invoice.objects.filter(status__in=["finalized", "paid"])
        .exclude(contract_id__in=with_pos)
        .values_list("contract__number", flat=True)
        .distinct()
    )
    for number in missing[:100]:
        contract = Contract.objects.get(number=number)
        out.append(Finding(*ref(contract), f"{number} is invoiced but has no performance obligations."))
    return out


@check(
    "prepaid_credits_tie_out",
    title="Prepaid credits tie out to the ledger",
    invariant="The prepaid-credits liability = credits granted − drawn by invoices − expired, per currency",
    severity="high",
)
def prepaid_credits_tie_out() -> list[Finding]:
    from billing.models import CreditApplication, CreditExpiry, CreditGrant
    from revrec.models import JournalLine

    def by_currency(qs, amount: str, currency: str) -> dict[str, Decimal]:
        rows = qs.values(currency).annotate(s=Sum(amount)).values_list(currency, "s")
        return {cur: stored_sum(total) for cur, total in rows}

    granted = by_currency(CreditGrant.objects.all(), "amount", "currency")
    drawn = by_currency(CreditApplication.objects.all(), "amount", "grant__currency")
    expired = by_currency(CreditExpiry.objects.all(), "amount", "grant__currency")
    ledger = defaultdict(lambda: ZERO)
    lines = JournalLine.objects.filter(account__role="credits").values("entry__currency")
    for cur, credit, debit in lines.annotate(c=Sum("credit"), d=Sum("debit")).values_list(
        "entry__currency", "c", "d"
    ):
        ledger[cur] = stored_sum(credit) - stored_sum(debit)
    out = []
    for cur in sorted(set(granted) | set(drawn) | set(expired) | set(ledger)):
        expected = granted.get(cur, ZERO) - drawn.get(cur, ZERO) - expired.get(cur, ZERO)
        if expected != ledger[cur]:
            out.append(
                Finding(
                    "billing.creditgrant",
                    cur,
                    f"Prepaid credits in {cur}: granted − drawn − expired is {expected}, "
                    f"but the prepaid-credits account holds {ledger[cur]}.",
                    {
                        "granted": granted.get(cur, ZERO),
                        "drawn": drawn.get(cur, ZERO),
                        "expired": expired.get(cur, ZERO),
                        "ledger": ledger[cur],
                    },
                )
            )
    return out


@check(
    "billed_within_contract_value",
    title="Billed to date within contract value (fixed lines)",
    invariant="Billed-to-date per contract never exceeds its contract value for fixed lines",
    severity="high",
)
def billed_within_contract_value() -> list[Finding]:
    out = []
    fixed_kinds = ["fee", "one_time", "proration"]
    rows = (
        InvoiceLine.objects.filter(invoice__status__in=["finalized", "paid"], kind__in=fixed_kinds)
        .values("invoice__contract_id")
        .annotate(s=Sum("amount"))
    )
    for row in rows:
        contract = Contract.objects.get(pk=row["invoice__contract_id"])
        row["s"] = stored_sum(row["s"])
        if row["s"] > contract.transaction_price:
            out.append(
                Finding(
                    *ref(contract),
                    f"{contract.number}: fixed lines billed {row['s']} exceed the contract "
                    f"value {contract.transaction_price}.",
                    {"billed": row["s"], "value": contract.transaction_price},
                )
            )
    return out


@check(
    "usage_inside_invoice_period",
    title="Usage on an invoice lies inside its period",
    invariant="Every usage event on an invoice is inside that invoice's (line's) period",
    severity="high",
)
def usage_inside_invoice_period() -> list[Finding]:
    from billing.pricing import local_midnight

    out = []
    lines = (
        InvoiceLine.objects.filter(kind__in=["usage", "usage_adjustment"], meter__isnull=False)
        .exclude(invoice__status="void")
        .select_related("invoice__customer")
    )
    for line in lines:
        tz = line.invoice.customer.timezone or "UTC"
        start, end = local_midnight(line.service_start, tz), local_midnight(line.service_end, tz)
        if line.usage_start != start or line.usage_end != end:
            out.append(
                Finding(
                    *ref(line),
                    f"Line {line.pk} counts usage from {line.usage_start} to {line.usage_end} "
                    f"but bills service {line.service_start}–{line.service_end} in {tz}.",
                )
            )
            continue
        if line.invoice.period_start > line.service_start and line.kind == "usage":
            out.append(Finding(*ref(line), f"Line {line.pk} bills usage before its invoice's period."))
    return out


@check(
    "price_overrides_approved",
    title="Price overrides carry an approval",
    invariant="Contract lines paying beyond the threshold below list (or custom-priced, or cut by an "
    "amendment beyond it) carry an approval",
    severity="high",
)
def price_overrides_approved() -> list[Finding]:
    """Detective twin of the preventive control (billing.contracts.overrides): no contract line
    billed at more than the threshold below its list price without an approved price_override."""
    from billing.contracts.overrides import (
        approved_override_keys,
        line_override,
        override_headline,
        override_key,
    )

    out = []
    lines = (
        ContractLine.objects.filter(contract__status__in=["active", "terminated", "expired"])
        .select_related("plan", "product", "contract")
        .order_by("contract_id", "id")
    )
    approved: dict[int, set] = {}
    for line in lines:
        override = line_override(line, line.contract)
        if override is None:
            continue
        if line.contract_id not in approved:
            approved[line.contract_id] = approved_override_keys(line.contract)
        if override_key(override) in approved[line.contract_id]:
            continue
        out.append(
            Finding(
                *ref(line),
                f"{line.contract.number}/{override_headline(override, line.contract.currency)} — without "
                "an approved price override.",
                {
                    "price": override["unit_price"],
                    "amount": override["amount"],
                    "quantity": override["quantity"],
                    "pays": override["pays"],
                    "list": override["list_pays"],
                    "discount_pct": override["discount_pct"],
                    "reasons": override["reasons"],
                },
            )
        )
    return out


@check(
    "ssp_in_force_used",
    title="The SSP used is the one in force on the contract date",
    invariant="Allocations use the approved SSP in force on the contract date (or the modification date)",
    severity="high",
)
def ssp_in_force_used() -> list[Finding]:
    from revrec.models import PerformanceObligation
    from revrec.services.obligations import ssp_in_force

    out = []
    for po in PerformanceObligation.objects.filter(status="active", variable=False).select_related(
        "contract", "product", "ssp_entry"
    ):
        if po.ssp_source.startswith("override"):
            continue
        # At inception the contract start; a modification re-allocates at its effective date (§10).
        as_of = po.ssp_as_of or po.contract.start_date
        in_force = ssp_in_force(po.product, po.currency, as_of)
        if (in_force.pk if in_force else None) != po.ssp_entry_id:
            out.append(
                Finding(
                    *ref(po),
                    f"{po.contract.number}/{po.key} used {po.ssp_source or 'no SSP'}; the SSP in "
                    f"force on {as_of} is {f'v{in_force.version}' if in_force else 'none'}.",
                )
            )
    return out


@check(
    "schedules_posted_only_when_approved",
    title="No schedule posts without approval",
    invariant="Only approved schedules post",
    severity="critical",
)
def schedules_posted_only_when_approved() -> list[Finding]:
    from revrec.models import ScheduleLine

    out = []
    bad = ScheduleLine.objects.filter(posted_entry__isnull=False).exclude(
        schedule__status__in=["approved", "superseded"]
    )
    for line in bad.select_related("schedule")[:200]:
        out.append(
            Finding(
                *ref(line.schedule),
                f"Schedule v{line.schedule.version} ({line.schedule.status}) has a posted "
                f"line for {line.period}.",
            )
        )
    unapproved_superseded = ScheduleLine.objects.filter(
        posted_entry__isnull=False, schedule__status="superseded", schedule__decided_at__isnull=True
    )
    for line in unapproved_superseded.select_related("schedule")[:200]:
        out.append(
            Finding(
                *ref(line.schedule),
                f"Schedule v{line.schedule.version} posted {line.period} but was never approved.",
            )
        )
    return out


@check(
    "audit_chain_intact",
    title="The audit trail's hash chain is intact",
    invariant="Every audit event's hash matches its content and links to the previous one",
    severity="critical",
)
def audit_chain_intact() -> list[Finding]:
    from compliance.audit import audit_verify_chain

    result = audit_verify_chain()
    if result.valid:
        return []
    return [
        Finding(
            "compliance.auditevent",
            str(result.first_bad or result.first_bad_seq),
            f"Audit chain broken at #{result.first_bad_seq}: {result.reason}.",
        )
    ]
