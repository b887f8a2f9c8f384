"""Ledger invariants: entries and trial balances balance, deferred revenue and prepaid credits tie out to
the records they come from, closed periods stay as they closed (accounting.md §7.3, §7.4, §7.8, §9)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q, Sum

from billing.contracts.models import Contract
from compliance.checks.registry import CHUNK, Finding, check, failing_rows, in_chunks, model_ref, ref
from revops.money import stored_sum

ZERO = Decimal(0)


def _unbalanced(rows):
    """Groups whose debits and credits differ, streamed. PostgreSQL compares the exact sums in SQL (only
    the unbalanced groups are returned); SQLite sums in floating point, so there the sums are brought
    back to the storage precision and compared here."""
    for row in failing_rows(rows, ~Q(d=F("c"))):
        row["d"], row["c"] = stored_sum(row["d"]), stored_sum(row["c"])
        if row["d"] != row["c"]:
            yield row


@check(
    "entries_balance",
    title="Every journal entry and the trial balance balance",
    invariant="Debits = credits in every entry and in every period's trial balance (§7.3)",
    severity="critical",
)
def entries_balance() -> list[Finding]:
    """Two grouped queries (per entry, per period) returning only the unbalanced groups."""
    from revrec.models import JournalEntry, JournalLine

    out = []
    # Grouped by the entry id alone (a join to the entries for the memo would group ~every line
    # again by text): the memos of the few unbalanced entries are read afterwards, a batch at a time.
    per_entry = JournalLine.objects.values("entry_id").annotate(d=Sum("debit"), c=Sum("credit")).order_by()
    for batch in in_chunks(_unbalanced(per_entry), 500):
        memos = dict(
            JournalEntry.objects.filter(pk__in=[r["entry_id"] for r in batch]).values_list("pk", "memo")
        )
        for row in batch:
            out.append(
                Finding(
                    model_ref(JournalEntry),
                    str(row["entry_id"]),
                    f"Entry {row['entry_id']} ({memos[row['entry_id']]}) has debits {row['d']} and credits {row['c']}.",
                    {"debit": row["d"], "credit": row["c"]},
                )
            )
    for row in _unbalanced(
        JournalLine.objects.values("entry__period").annotate(d=Sum("debit"), c=Sum("credit")).order_by()
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


BALANCE_ROLES = ("deferred", "unbilled")
REVENUE_ROLES = ("revenue", "revenue_sub", "contra")

# Per contract, in one pass: the ledger's deferred/unbilled net balance, revenue recognized, and what
# the invoices (an independent record) billed less credit notes, each with whether the contract has
# any such record (a contract without one shows 0). A contract is checked when it has a
# deferred/unbilled line or was billed, as the rollforward has always been.
ROLLFORWARD_SQL = """
SELECT u.contract_id, c.number, SUM(u.ledger), SUM(u.recognized), SUM(u.billed),
       MAX(u.has_ledger), MAX(u.has_recognized), MAX(u.has_billed)
FROM (
    SELECT jl.contract_id AS contract_id,
           CASE WHEN a.role IN ({balance}) THEN jl.credit - jl.debit ELSE 0 END AS ledger,
           CASE WHEN a.role IN ({revenue}) THEN jl.credit - jl.debit ELSE 0 END AS recognized,
           0 AS billed,
           CASE WHEN a.role IN ({balance}) THEN 1 ELSE 0 END AS has_ledger,
           CASE WHEN a.role IN ({revenue}) THEN 1 ELSE 0 END AS has_recognized,
           0 AS has_billed
    FROM {line} AS jl JOIN {account} AS a ON a.id = jl.account_id
    WHERE jl.contract_id IS NOT NULL AND a.role IN ({balance}, {revenue})
    UNION ALL
    SELECT i.contract_id, 0, 0, i.subtotal, 0, 0, 1
    FROM {invoice} AS i WHERE i.status IN ('finalized', 'paid')
    UNION ALL
    SELECT i.contract_id, 0, 0, -n.subtotal, 0, 0, 1
    FROM {credit_note} AS n JOIN {invoice} AS i ON i.id = n.invoice_id
) AS u
JOIN {contract} AS c ON c.id = u.contract_id
GROUP BY u.contract_id, c.number
HAVING (MAX(u.has_ledger) = 1 OR MAX(u.has_billed) = 1) {having}
ORDER BY u.contract_id
"""


def _rollforward_rows():
    """(contract id, number, ledger, recognized, billed, and whether it has each) per contract, streamed; on PostgreSQL only the
    contracts that do not roll forward (exact NUMERIC sums compared in SQL)."""
    from billing.models import CreditNote, Invoice
    from revrec.models import Account, JournalLine

    def quoted(roles):
        return ", ".join(f"'{role}'" for role in roles)

    exact = connection.vendor == "postgresql"
    sql = ROLLFORWARD_SQL.format(
        balance=quoted(BALANCE_ROLES),
        revenue=quoted(REVENUE_ROLES),
        line=JournalLine._meta.db_table,
        account=Account._meta.db_table,
        invoice=Invoice._meta.db_table,
        credit_note=CreditNote._meta.db_table,
        contract=Contract._meta.db_table,
        having="AND SUM(u.ledger) <> SUM(u.billed) - SUM(u.recognized)" if exact else "",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(CHUNK):
            yield from rows


@check(
    "deferred_rollforward",
    title="Deferred revenue rolls forward",
    invariant="Opening + billed − recognized = closing, per contract and in total (§7.4)",
    severity="critical",
)
def deferred_rollforward() -> list[Finding]:
    """Billed from the invoices (an independent record) against the ledger's contract balances: one
    grouped query over the journal, the invoices and the credit notes."""
    out = []
    for contract_id, number, ledger, recognized, billed, *has in _rollforward_rows():
        closing, recognized, billed = (
            stored_sum(total) if present else ZERO
            for total, present in zip((ledger, recognized, billed), has, strict=True)
        )
        expected = billed - recognized
        if closing != expected:
            out.append(
                Finding(
                    model_ref(Contract),
                    str(contract_id),
                    f"{number}: billed {billed} − recognized "
                    f"{recognized} = {expected}, but the contract's deferred/unbilled net "
                    f"balance is {closing}.",
                    {
                        "billed": billed,
                        "recognized": recognized,
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
