"""Ledger invariants: entries and trial balances balance, deferred revenue and prepaid credits tie out to
the records they come from, closed periods stay as they closed (accounting.md §7.3, §7.4, §7.8, §9)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q, Sum

from billing.contracts.models import Contract
from billing.models import Invoice
from compliance.checks.registry import Finding, check, ref
from revops.money import stored_sum

ZERO = Decimal(0)


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
