"""Invoice invariants: totals add up, numbers are gapless, every billed line maps to an obligation, fixed
lines stay within the contract value, price overrides carry an approval (accounting.md §7.6)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Sum

from billing.contracts.models import Contract, ContractLine
from billing.models import Invoice, InvoiceLine
from compliance.checks.registry import Finding, check, ref
from revops.money import round_money, stored_sum


def _sum(qs, field_name: str) -> Decimal:
    return stored_sum(qs.aggregate(s=Sum(field_name))["s"])


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


# At most this many invoices are reported per run (the oldest first); the rest follow once they are
# dealt with. A worker down for a month end must not turn one run into 100,000 exceptions.
DOCUMENT_FINDINGS_LIMIT = 1000


@check(
    "invoice_documents_stored",
    title="Finalized invoices have their document",
    invariant="Every finalized, paid or void invoice has its stored PDF (path and SHA-256) at most "
    "INVOICE_DOCUMENT_MAX_DELAY_SECONDS (15 minutes by default) after it was finalized",
    severity="high",
)
def invoice_documents_stored() -> list[Finding]:
    """The document is rendered by a worker after the finalization commits; this reads only the
    stored columns (``pdf_path``, ``pdf_sha256``, ``finalized_at``) in one query, so a worker that is
    down, a failed render or a document row wiped by hand all show up once the delay has passed."""
    from datetime import timedelta

    from django.conf import settings
    from django.db.models import Q
    from django.utils import timezone

    delay = timedelta(seconds=settings.INVOICE_DOCUMENT_MAX_DELAY_SECONDS)
    rows = (
        Invoice.objects.exclude(status=Invoice.Status.DRAFT)
        .filter(Q(pdf_sha256="") | Q(pdf_path=""))
        .filter(Q(finalized_at__lte=timezone.now() - delay) | Q(finalized_at__isnull=True))
        .order_by("finalized_at", "id")
        .values_list("pk", "number", "status", "finalized_at")[:DOCUMENT_FINDINGS_LIMIT]
    )
    minutes = int(delay.total_seconds() // 60)
    return [
        Finding(
            "billing.invoice",
            str(pk),
            f"Invoice {number} ({status}) has no stored document (PDF and SHA-256) more than "
            f"{minutes} minutes after it was finalized"
            + (f" at {finalized_at:%Y-%m-%d %H:%M} UTC." if finalized_at else "."),
            {"number": number, "finalized_at": finalized_at},
        )
        for pk, number, status, finalized_at in rows
    ]
