"""Invoice invariants: totals add up, numbers are gapless, every billed line maps to an obligation, fixed
lines stay within the contract value, price overrides carry an approval (accounting.md §7.6)."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.db.models import Case, Count, DecimalField, Exists, F, Max, Min, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Round
from django.db.models.lookups import Exact, GreaterThan

from billing.contracts.models import Contract, ContractLine
from billing.models import Invoice, InvoiceLine
from compliance.checks.registry import CHUNK, Finding, check, failing_rows, model_ref
from revops.money import minor_units, round_money, stored_sum

ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=4))


def _z(expression):
    return Coalesce(expression, ZERO, output_field=ZERO.output_field)


@check(
    "invoice_totals",
    title="Invoice totals add up",
    invariant="Invoice total = Σ lines + tax − credits applied (§7.6)",
    severity="critical",
)
def invoice_totals() -> list[Finding]:
    """One query: every issued invoice with Σ lines and Σ taxable lines, streamed; on PostgreSQL only
    the invoices whose totals or tax (rounded half up to the currency's minor unit) are off."""
    qs = (
        Invoice.objects.exclude(status="draft")
        .annotate(
            lines_total=Sum("lines__amount"),
            taxable_total=Sum("lines__amount", filter=Q(lines__taxable=True)),
        )
        .order_by("pk")
    )
    if connection.vendor == "postgresql":
        lines = _z(F("lines_total"))
        tax = _z(F("taxable_total")) * F("tax_rate") / Value(Decimal(100))
        currencies = Invoice.objects.exclude(status="draft").values_list("currency", flat=True).distinct()
        expected = Case(
            *(When(currency=cur, then=Round(tax, minor_units(cur))) for cur in currencies.order_by()),
            output_field=ZERO.output_field,
        )
        qs = qs.filter(
            ~Q(Exact(F("subtotal"), lines))
            | ~Q(Exact(F("total"), lines + F("tax") - F("credits_applied")))
            | ~Q(Exact(F("tax"), expected))
        )
    out = []
    for inv in qs.iterator(chunk_size=CHUNK):
        lines = stored_sum(inv.lines_total)
        if inv.subtotal != lines or inv.total != lines + inv.tax - inv.credits_applied:
            out.append(
                Finding(
                    model_ref(Invoice),
                    str(inv.pk),
                    f"Invoice {inv.number}: lines {lines}, subtotal {inv.subtotal}, tax {inv.tax}, "
                    f"credits {inv.credits_applied}, total {inv.total} do not add up.",
                    {"lines": lines, "subtotal": inv.subtotal, "total": inv.total},
                )
            )
        expected_tax = round_money(stored_sum(inv.taxable_total) * inv.tax_rate / 100, inv.currency)
        if inv.tax != expected_tax:
            out.append(
                Finding(
                    model_ref(Invoice),
                    str(inv.pk),
                    f"Invoice {inv.number}: tax {inv.tax} ≠ {expected_tax} at {inv.tax_rate}%.",
                    {"tax": inv.tax, "expected": expected_tax},
                )
            )
    return out


def _numbering_faults(legal_entity_id: int, count: int) -> tuple[list[int], list[int]]:
    """The first 20 numbers missing from 1..count and the first 20 used twice, streamed in order."""
    numbered = Invoice.objects.filter(legal_entity_id=legal_entity_id, sequence__isnull=False)
    dupes = list(
        numbered.values("sequence")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("sequence")
        .values_list("sequence", flat=True)[:20]
    )
    missing: list[int] = []
    expected = 1
    used = (
        numbered.filter(sequence__gte=1, sequence__lte=count)
        .values_list("sequence", flat=True)
        .distinct()
        .order_by("sequence")
    )
    for sequence in used.iterator(chunk_size=CHUNK):
        while expected < sequence and len(missing) < 20:
            missing.append(expected)
            expected += 1
        if len(missing) >= 20:
            break
        expected = sequence + 1
    while expected <= count and len(missing) < 20:
        missing.append(expected)
        expected += 1
    return missing, dupes


@check(
    "invoice_numbers_gapless",
    title="Invoice numbers are unique and gapless",
    invariant="Finalized invoice numbers are unique and gapless per legal entity (§7.6)",
    severity="critical",
)
def invoice_numbers_gapless() -> list[Finding]:
    """One grouped query: per legal entity, the numbers are 1..n exactly when there are n of them, all
    distinct, from 1 to n. Only a failing entity's gaps and duplicates are then looked up."""
    out = []
    rows = (
        Invoice.objects.filter(sequence__isnull=False)
        .values("legal_entity_id")
        .annotate(
            n=Count("id"),
            distinct=Count("sequence", distinct=True),
            low=Min("sequence"),
            high=Max("sequence"),
        )
        .order_by("legal_entity_id")
    )
    for row in rows:
        n = row["n"]
        if row["distinct"] == n and row["low"] == 1 and row["high"] == n:
            continue
        missing, dupes = _numbering_faults(row["legal_entity_id"], n)
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
    """Two queries: the (first 200) issued lines of a contract with obligations that map to none of
    them, and the (first 100) invoiced contracts without any obligation."""
    from revrec.models import PerformanceObligation

    out = []
    has_pos = PerformanceObligation.objects.filter(contract_id=OuterRef("invoice__contract_id"))
    # An amended line's new revision belongs to the PO of the same line key until the modification is
    # approved (revrec.services.obligations.obligation_for_invoice_line maps it so when posting).
    same_key = PerformanceObligation.objects.filter(
        contract_id=OuterRef("invoice__contract_id"), lines__key=OuterRef("contract_line__key")
    )
    lines = (
        InvoiceLine.objects.filter(invoice__status__in=["finalized", "paid"], contract_line__isnull=False)
        .exclude(contract_line__performance_obligations__isnull=False)
        .exclude(Exists(same_key))
        .filter(Exists(has_pos))
        .values("pk", "description", "invoice__number")
    )
    for line in lines[:200]:
        out.append(
            Finding(
                model_ref(InvoiceLine),
                str(line["pk"]),
                f"Line '{line['description']}' of invoice {line['invoice__number']} maps to no "
                "performance obligation.",
            )
        )
    invoiced = Invoice.objects.filter(status__in=["finalized", "paid"], contract_id=OuterRef("pk"))
    without = PerformanceObligation.objects.filter(contract_id=OuterRef("pk"))
    missing = (
        Contract.objects.filter(Exists(invoiced))
        .exclude(Exists(without))
        .order_by("number")
        .values_list("pk", "number")
    )
    for pk, number in missing[:100]:
        out.append(
            Finding(model_ref(Contract), str(pk), f"{number} is invoiced but has no performance obligations.")
        )
    return out


@check(
    "billed_within_contract_value",
    title="Billed to date within contract value (fixed lines)",
    invariant="Billed-to-date per contract never exceeds its contract value for fixed lines",
    severity="high",
)
def billed_within_contract_value() -> list[Finding]:
    """One grouped query: fixed lines billed per contract, returning (on PostgreSQL) only the contracts
    billed beyond their value."""
    out = []
    fixed_kinds = ["fee", "one_time", "proration"]
    rows = (
        InvoiceLine.objects.filter(invoice__status__in=["finalized", "paid"], kind__in=fixed_kinds)
        .values("invoice__contract_id", "invoice__contract__number", "invoice__contract__transaction_price")
        .annotate(s=Sum("amount"))
        .order_by("invoice__contract_id")
    )
    having = Q(GreaterThan(_z(F("s")), F("invoice__contract__transaction_price")))
    for row in failing_rows(rows, having):
        billed, value = stored_sum(row["s"]), row["invoice__contract__transaction_price"]
        if billed > value:
            out.append(
                Finding(
                    model_ref(Contract),
                    str(row["invoice__contract_id"]),
                    f"{row['invoice__contract__number']}: fixed lines billed {billed} exceed the contract "
                    f"value {value}.",
                    {"billed": billed, "value": value},
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
    billed at more than the threshold below its list price without an approved price_override.

    The lines stream in contract order with what the rule reads (plan, product, the revision they
    supersede); each plan's list is read once; the approvals of the contracts with an override are
    read a batch of contracts at a time."""
    from billing.contracts.overrides import (
        approved_override_keys_for,
        line_overrides,
        override_headline,
        override_key,
        plan_versions_cached,
    )

    out: list[Finding] = []
    lines = (
        ContractLine.objects.filter(contract__status__in=["active", "terminated", "expired"])
        .select_related("plan", "product", "contract", "supersedes__plan", "supersedes__product")
        .order_by("contract_id", "id")
    )
    found: list[tuple] = []  # (line ref, contract number, currency, contract id, override)

    def settle() -> None:
        approved = approved_override_keys_for({item[3] for item in found})
        for line_id, number, currency, contract_id, override in found:
            if override_key(override) in approved[contract_id]:
                continue
            out.append(
                Finding(
                    model_ref(ContractLine),
                    str(line_id),
                    f"{number}/{override_headline(override, currency)} — without an approved price override.",
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
        found.clear()

    with plan_versions_cached():
        for line in lines.iterator(chunk_size=CHUNK):
            for override in line_overrides(line, line.contract):  # a ramp line: one per step (§5a)
                found.append(
                    (line.pk, line.contract.number, line.contract.currency, line.contract_id, override)
                )
            if len(found) >= 500:
                settle()
    if found:
        settle()
    return out


# At most this many invoices are reported per run (the oldest first); the rest follow once they are
# dealt with. A worker down for a month end must not turn one run into 100,000 exceptions.
DOCUMENT_FINDINGS_LIMIT = 1000


# Stored documents whose SHA-256 is recomputed per run: a window of this many, which moves on by as many
# each hour (ordered by id, wrapping around), so every document is re-hashed in turn without one run
# reading 100,000 files. Every stored document's existence and size are checked on every run.
DOCUMENT_HASH_SAMPLE = 500


@check(
    "invoice_documents_stored",
    title="Finalized invoices have their document",
    invariant="Every finalized, paid or void invoice has its stored PDF (path and SHA-256) at most "
    "INVOICE_DOCUMENT_MAX_DELAY_SECONDS (15 minutes by default) after it was finalized, and the file is "
    "in storage with its recorded size; the SHA-256 is re-verified for a rotating sample of "
    "DOCUMENT_HASH_SAMPLE (500) documents a run, not for all of them",
    severity="high",
)
def invoice_documents_stored() -> list[Finding]:
    """The document is rendered by a worker after the finalization commits; the stored columns
    (``pdf_path``, ``pdf_sha256``, ``finalized_at``) show a worker that is down, a failed render or a
    document row wiped by hand once the delay has passed. Then the files: one listing of the storage
    directories against the recorded paths and sizes (a deleted, moved or truncated file), and the
    SHA-256 of a rotating sample re-computed (a file changed in place with its size kept)."""
    out = _documents_unrecorded()
    return out + _document_files(DOCUMENT_FINDINGS_LIMIT - len(out))


def _document_files(limit: int) -> list[Finding]:
    from django.utils import timezone

    from billing.documents.storage import stored_file_sha256, stored_file_sizes

    if limit <= 0:
        return []
    sizes = stored_file_sizes()
    recorded = (
        Invoice.objects.exclude(status=Invoice.Status.DRAFT)
        .exclude(pdf_sha256="")
        .exclude(pdf_path="")
        .order_by("pk")
        .values_list("pk", "number", "pdf_path", "pdf_size", "pdf_sha256")
    )
    out: list[Finding] = []
    flagged: set[int] = set()

    def flag(pk, number, path, problem, details):
        flagged.add(pk)
        out.append(
            Finding(
                "billing.invoice", str(pk), f"Invoice {number}: its stored PDF {path} {problem}.", details
            )
        )

    for pk, number, path, size, _sha in recorded.iterator(chunk_size=CHUNK):
        actual = sizes.get(path)
        if actual is None:
            flag(pk, number, path, "is missing from storage", {"number": number, "pdf_path": path})
        elif size is not None and actual != size:
            flag(pk, number, path, f"has {actual} bytes, {size} recorded", {"number": number, "size": actual})
        if len(out) >= limit:
            return out
    total = recorded.count()
    start = (int(timezone.now().timestamp()) // 3600 * DOCUMENT_HASH_SAMPLE) % total if total else 0
    sample = list(recorded[start : start + DOCUMENT_HASH_SAMPLE])
    sample += list(recorded[: max(0, min(start, start + DOCUMENT_HASH_SAMPLE - total))])  # wrapped
    for pk, number, path, _size, sha in sample:
        actual = stored_file_sha256(path)
        if pk not in flagged and actual is not None and actual != sha:
            flag(
                pk,
                number,
                path,
                "no longer matches its recorded SHA-256",
                {"number": number, "sha256": actual},
            )
    return out[:limit]


def _documents_unrecorded() -> list[Finding]:
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
