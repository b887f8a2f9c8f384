"""Usage invariants: every usage event is billed at most once and inside its invoice line's period
(accounting.md §7.7)."""

from __future__ import annotations

from collections import defaultdict

from billing.models import InvoiceLine
from compliance.checks.registry import Finding, check, ref


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
