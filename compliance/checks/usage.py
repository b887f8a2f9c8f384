"""Usage invariants: every usage event is billed at most once and inside its invoice line's period
(accounting.md §7.7)."""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby

from django.db.models import F

from billing.models import InvoiceLine
from compliance.checks.registry import CHUNK, Finding, check, model_ref


def _overlaps(rows: list[dict]):
    """Pairs of consecutive windows (by usage start) that overlap, among one charge's lines."""
    rows.sort(key=lambda r: r["usage_start"])
    for a, b in zip(rows, rows[1:], strict=False):
        if b["usage_start"] < a["usage_end"]:
            yield a, b


@check(
    "usage_counted_once",
    title="Usage is billed at most once",
    invariant="Each usage event is counted at most once, on at most one invoice (§7.7)",
    severity="critical",
)
def usage_counted_once() -> list[Finding]:
    """The usage lines stream in (contract line, charge) order, so only one charge's lines (its
    billing periods) are held at a time; the late-usage lines that re-cover billed events are
    selected in SQL."""
    out = []
    originals = (
        InvoiceLine.objects.filter(kind="usage", meter__isnull=False)
        .exclude(invoice__status="void")
        .values(
            "contract_line_id", "charge_code", "dimension", "usage_start", "usage_end", "pk", "invoice_id"
        )
        .order_by("contract_line_id", "charge_code", "pk")
    )
    charges = groupby(
        originals.iterator(chunk_size=CHUNK), key=lambda r: (r["contract_line_id"], r["charge_code"])
    )
    for _charge, rows in charges:
        by_dimension = defaultdict(list)
        for row in rows:
            by_dimension[str(sorted((row["dimension"] or {}).items()))].append(row)
        for same in by_dimension.values():
            for a, b in _overlaps(same):
                out.append(
                    Finding(
                        "billing.invoiceline",
                        str(b["pk"]),
                        f"Usage window of line {b['pk']} overlaps line {a['pk']} (same charge and dimension): "
                        "events in the overlap would be billed twice.",
                        {"lines": [a["pk"], b["pk"]], "invoices": [a["invoice_id"], b["invoice_id"]]},
                    )
                )
    recovered = (
        InvoiceLine.objects.filter(
            kind="usage_adjustment",
            adjusts__isnull=False,
            received_after__isnull=False,
            received_after__lt=F("adjusts__received_through"),
        )
        .exclude(invoice__status="void")
        .values_list("pk", "adjusts_id")
        .order_by("pk")
    )
    for pk, adjusts_id in recovered.iterator(chunk_size=CHUNK):
        out.append(
            Finding(
                model_ref(InvoiceLine),
                str(pk),
                f"Late-usage line {pk} re-covers events already billed by line {adjusts_id}.",
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
    """The metered lines stream in with their invoice's period and customer's time zone (one query);
    each line's window is compared with its service days' local midnights."""
    from billing.pricing import local_midnight

    out = []
    lines = (
        InvoiceLine.objects.filter(kind__in=["usage", "usage_adjustment"], meter__isnull=False)
        .exclude(invoice__status="void")
        .values(
            "pk",
            "kind",
            "service_start",
            "service_end",
            "usage_start",
            "usage_end",
            "invoice__period_start",
            "invoice__customer__timezone",
        )
        .order_by("pk")
    )
    for line in lines.iterator(chunk_size=CHUNK):
        tz = line["invoice__customer__timezone"] or "UTC"
        start, end = local_midnight(line["service_start"], tz), local_midnight(line["service_end"], tz)
        if line["usage_start"] != start or line["usage_end"] != end:
            out.append(
                Finding(
                    model_ref(InvoiceLine),
                    str(line["pk"]),
                    f"Line {line['pk']} counts usage from {line['usage_start']} to {line['usage_end']} "
                    f"but bills service {line['service_start']}–{line['service_end']} in {tz}.",
                )
            )
            continue
        if line["invoice__period_start"] > line["service_start"] and line["kind"] == "usage":
            out.append(
                Finding(
                    model_ref(InvoiceLine),
                    str(line["pk"]),
                    f"Line {line['pk']} bills usage before its invoice's period.",
                )
            )
    return out
