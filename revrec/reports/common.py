"""Shared by the revenue reports: account roles, periods, currencies, and the basis text each
report states on screen and in the API."""

from __future__ import annotations

import calendar
import re
from datetime import date
from decimal import Decimal

from django.db.models import Count

from revops.dates import check_period
from revops.errors import ValidationFailed
from revops.money import is_currency, round_money
from revrec.models import Account, JournalEntry

ZERO = Decimal(0)
POSITION_ROLES = ("deferred", "unbilled")
REVENUE_ROLES = ("revenue", "revenue_sub")
CONTRA_ROLES = ("contra",)
BILLING_SOURCES = ("billing.invoice", "billing.creditnote")
MAX_MONTHS = 120
PERIOD_RE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
RPO_BANDS = ("0-12 months", "13-24 months", "over 24 months")
AGE_BUCKETS = ("0-30 days", "31-60 days", "61-90 days", "over 90 days")

WATERFALL_BASIS = (
    "Rows: the month revenue was billed (the accounting period of the invoice's posting, i.e. its issue "
    "month; voids and credit notes count, negative, in the month they were posted). Columns: the month "
    "it was recognized (period of the recognition entry). Recognized revenue is matched to billings "
    "first-in, first-out per performance obligation (per contract and PO key, so an amended PO keeps its "
    "history): the earliest billed amount is consumed first. 'Not yet billed' is revenue recognized ahead "
    "of billing (unbilled receivables at the end of the range); 'Deferred' is billed revenue not yet "
    "recognized at the end of the range. Only postings before the end of the range count, so a closed "
    "range never changes. Row totals = billed in the month; column totals = recognized in the month."
)
ROLLFORWARD_BASIS = (
    "Net contract position = deferred revenue (contract liability) minus unbilled receivables (contract "
    "asset), from the ledger. Opening = position at the start of the period. Billed = invoices posted in "
    "the period to deferred and unbilled, net of voids and credit notes posted in the period. "
    "Recognized = revenue credited in the period. Closing = opening + billed − recognized; it must "
    "equal the ledger position at the end of the period (tie-out). Per contract, a positive closing "
    "position is a contract liability and a negative one a contract asset (netted per contract, "
    "accounting.md §6)."
)
UNBILLED_BASIS = (
    "Per contract and performance obligation: revenue recognized minus billed to the end of the period, "
    "where positive (revenue recognized ahead of billing, e.g. usage billed in arrears). Ages come from "
    "the recognition month of each unbilled amount, matched first-in, first-out to later billings, "
    "measured from the end of that month to the end of the period. Tie-out: unbilled minus billed ahead "
    "(deferred), over all obligations, equals the ledger's unbilled receivables minus deferred revenue."
)
RPO_BASIS = (
    "Remaining performance obligations as of the date: for active fixed-consideration obligations, the "
    "allocated amount not yet recognized — the lines of their approved revenue schedules not posted by a "
    "recognition entry dated on or before that date — banded by the months between the date and the "
    "line's period (0-12, 13-24, over 24). Usage obligations are excluded: their consideration is "
    "variable and recognized as invoiced (ASC 606-10-55-18 practical expedient; disclosure exemption "
    "ASC 606-10-50-14). Obligations whose schedule is still awaiting approval are shown apart, not in "
    "the total."
)
REVENUE_BASIS = (
    "Revenue recognized in the periods (credits to the revenue accounts, net of any reversal), with "
    "contra revenue from credit notes shown apart; net = recognized − contra. Grouped by the product "
    "on the journal line or by the contract's customer."
)
TRIAL_BALANCE_BASIS = (
    "Every account's opening balance (before the first period), debits and credits posted in the "
    "periods and closing balance, debit positive. Debits must equal credits and balances sum to zero."
)


# --- periods and currencies --------------------------------------------------------------------------


def parse_period(value, *, field: str = "period") -> str:
    text = (value or "").strip()
    if not PERIOD_RE.match(text):
        raise ValidationFailed(f"'{text}' is not an accounting period (use YYYY-MM).", field=field)
    return check_period(text, field=field)


def _index(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def _period(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def add_months(period: str, months: int) -> str:
    return _period(_index(period) + months)


def months_between(start: str, end: str) -> list[str]:
    """Periods in [start, end)."""
    return [_period(i) for i in range(_index(start), _index(end))]


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def last_day(period: str) -> date:
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, calendar.monthrange(year, month)[1])


def first_day(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def parse_range(start, end, *, max_months: int = MAX_MONTHS) -> tuple[str, str]:
    start, end = parse_period(start, field="start"), parse_period(end, field="end")
    if _index(end) <= _index(start):
        raise ValidationFailed(
            "The end period must be after the start period (end is exclusive).", field="end"
        )
    if _index(end) - _index(start) > max_months:
        raise ValidationFailed(f"Pick a range of at most {max_months} months.", field="end")
    return start, end


def currencies() -> list[str]:
    from billing.contracts.models import Contract

    found = set(JournalEntry.objects.values_list("currency", flat=True).distinct())
    found |= set(Contract.objects.values_list("currency", flat=True).distinct())
    return sorted(c for c in found if c)


def default_currency() -> str:
    """The currency with the most journal entries (else the most common contract currency, else USD)."""
    from billing.contracts.models import Contract

    row = JournalEntry.objects.values("currency").annotate(n=Count("id")).order_by("-n", "currency").first()
    if row is None:
        row = Contract.objects.values("currency").annotate(n=Count("id")).order_by("-n", "currency").first()
    return row["currency"] if row else "USD"


def resolve_currency(value) -> str:
    text = (value or "").strip().upper()
    if not text:
        return default_currency()
    if not is_currency(text):
        raise ValidationFailed(f"Unknown currency '{text}'.", field="currency")
    return text


def _account_ids(roles) -> list[int]:
    return list(Account.objects.filter(role__in=list(roles)).values_list("pk", flat=True))


def _net(row: dict | tuple, credit="c", debit="d") -> Decimal:
    return (row[credit] or ZERO) - (row[debit] or ZERO)


def _q(amount: Decimal, currency: str) -> Decimal:
    return round_money(amount or ZERO, currency)
