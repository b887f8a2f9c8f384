"""Posting: one balanced journal entry per business event, never into a closed period, append-only.
The entry's ``source_key`` is unique, so posting the same event twice is impossible."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction

from revops.errors import DomainError
from revops.money import stored_sum
from revrec.models import Account, JournalEntry, JournalLine
from revrec.services.periods import first_day, lock_posting_period, posting_period

ZERO = Decimal(0)

DEFAULT_CHART = [
    ("1000", "Cash", "asset", "cash"),
    ("1100", "Accounts receivable", "asset", "ar"),
    ("1200", "Unbilled receivables (contract asset)", "asset", "unbilled"),
    ("2100", "Deferred revenue (contract liability)", "liability", "deferred"),
    ("2200", "Tax payable", "liability", "tax"),
    ("2300", "Prepaid customer credits", "liability", "credits"),
    ("4000", "Revenue", "revenue", "revenue"),
    ("4800", "Breakage (expired prepaid credits)", "revenue", "breakage"),
    ("4900", "Contra revenue (credit notes)", "contra_revenue", "contra"),
    ("4910", "Goodwill credits (contra revenue)", "contra_revenue", "goodwill"),
]


class Unbalanced(DomainError):
    slug = "unbalanced-entry"
    title = "Journal entry does not balance"


def ensure_chart() -> None:
    for code, name, kind, role in DEFAULT_CHART:
        Account.objects.get_or_create(code=code, defaults={"name": name, "type": kind, "role": role})


def account(role: str) -> Account:
    acct = Account.objects.filter(role=role).order_by("code").first()
    if acct is None:
        ensure_chart()
        acct = Account.objects.filter(role=role).order_by("code").first()
    return acct


class AccountMisconfigured(DomainError):
    status = 409
    slug = "account-misconfigured"
    title = "A product maps to an account that is not a revenue account"


def revenue_account(code: str | None) -> Account:
    """Revenue sub-account per product (e.g. 4010); created on first use under 4000 — only for a new
    revenue sub-account number (4000–4799). An existing account that is not a revenue account (1000
    Cash, 1200 Unbilled, 4900 Contra revenue) is never used to credit revenue: the posting is refused."""
    from revops.books import revenue_account_errors

    if not code or code == "4000":
        return account("revenue")
    acct = Account.objects.filter(code=code).first()
    if acct is None:
        errors = revenue_account_errors(code)
        if errors:
            raise AccountMisconfigured(errors[0].message, errors=errors)
        acct, _ = Account.objects.get_or_create(
            code=code, defaults={"name": f"Revenue {code}", "type": "revenue", "role": "revenue_sub"}
        )
    if acct.type != Account.Type.REVENUE:
        raise AccountMisconfigured(
            f"Revenue cannot post to account {acct.code} ({acct.name}): it is a {acct.get_type_display()} "
            "account, not a revenue account. Map the product to a revenue account.",
            field="revenue_account",
        )
    return acct


def account_info(code: str) -> tuple[str, str] | None:
    """(type, name) of an account code in the chart, or None (the kernel's ``revops.books`` seam)."""
    code = str(code).strip()
    row = Account.objects.filter(code=code).values_list("type", "name").first()
    if row is None:  # the default chart is created on first posting: it counts as there already
        row = next(((kind, name) for c, name, kind, _ in DEFAULT_CHART if c == code), None)
    return (row[0], row[1]) if row else None


@dataclass
class Draft:
    lines: list[dict] = field(default_factory=list)

    def dr(self, acct: Account, amount: Decimal, **kw) -> None:
        self._add(acct, amount, debit=True, **kw)

    def cr(self, acct: Account, amount: Decimal, **kw) -> None:
        self._add(acct, amount, debit=False, **kw)

    def _add(self, acct, amount, *, debit, **kw):
        if amount == 0:
            return
        if amount < 0:
            amount, debit = -amount, not debit
        self.lines.append(
            {"account": acct, "debit": amount if debit else ZERO, "credit": ZERO if debit else amount, **kw}
        )

    @property
    def totals(self) -> tuple[Decimal, Decimal]:
        return sum((ln["debit"] for ln in self.lines), ZERO), sum((ln["credit"] for ln in self.lines), ZERO)


def journal_entry_post(
    *,
    draft: Draft,
    day: date,
    source: str,
    source_type: str,
    source_id,
    source_key: str,
    memo: str,
    currency: str,
    contract=None,
    reverses: JournalEntry | None = None,
) -> JournalEntry | None:
    """Write one balanced entry (in the caller's transaction). Returns None if already posted."""
    debit, credit = draft.totals
    if debit != credit:
        raise Unbalanced(f"Entry '{memo}' does not balance: debits {debit} ≠ credits {credit}.")
    if not draft.lines:
        return None
    if JournalEntry.objects.filter(source_key=source_key).exists():
        return None
    with transaction.atomic():
        period, correction_for = lock_posting_period(day)
        try:
            with transaction.atomic():
                entry = JournalEntry.objects.create(
                    date=first_day(period.period) if correction_for else day,
                    business_date=day,
                    period=period.period,
                    source=source,
                    source_type=source_type,
                    source_id=str(source_id),
                    source_key=source_key,
                    memo=memo[:300],
                    currency=currency,
                    contract=contract,
                    reverses=reverses,
                    correction_for_period=correction_for,
                )
        except IntegrityError:
            return None
        JournalLine.objects.bulk_create([JournalLine(entry=entry, **ln) for ln in _merge(draft.lines)])
    return entry


def entry_lines(draft: Draft) -> list[dict]:
    """The lines an entry of ``draft`` is written with (netted per account and dimensions), for
    writers that insert many entries at once (a revenue-run batch)."""
    return _merge(draft.lines)


def _merge(lines: list[dict]) -> list[dict]:
    """Net lines on the same account and dimensions so an entry reads cleanly."""
    merged: dict[tuple, dict] = {}
    order = []
    for ln in lines:
        key = (
            ln["account"].pk,
            ln.get("contract").pk if ln.get("contract") else None,
            ln.get("obligation").pk if ln.get("obligation") else None,
            ln.get("product").pk if ln.get("product") else None,
        )
        if key not in merged:
            merged[key] = {**ln, "debit": ZERO, "credit": ZERO}
            order.append(key)
        merged[key]["debit"] += ln["debit"]
        merged[key]["credit"] += ln["credit"]
    out = []
    for key in order:
        ln = merged[key]
        net = ln["debit"] - ln["credit"]
        if net == 0:
            continue
        ln["debit"], ln["credit"] = (net, ZERO) if net > 0 else (ZERO, -net)
        out.append(ln)
    return out


def reverse(entry: JournalEntry, *, day: date, memo: str, source_key: str) -> JournalEntry | None:
    draft = Draft()
    for line in entry.lines.select_related("account", "contract", "obligation", "product"):
        kw = {"contract": line.contract, "obligation": line.obligation, "product": line.product, "memo": memo}
        if line.debit:
            draft.cr(line.account, line.debit, **kw)
        else:
            draft.dr(line.account, line.credit, **kw)
    return journal_entry_post(
        draft=draft,
        day=day,
        source=JournalEntry.Source.REVERSAL,
        source_type=entry.source_type,
        source_id=entry.source_id,
        source_key=source_key,
        memo=memo,
        currency=entry.currency,
        contract=entry.contract,
        reverses=entry,
    )


def entry_date(day: date) -> date:
    """The date an entry for ``day`` gets: the day itself, or the first day of the open period it is
    moved into when its own period is closed (see :func:`journal_entry_post`)."""
    period, correction_for = posting_period(day)
    return first_day(period) if correction_for else day


def balances_by_obligation(role: str, obligation_ids, *, through: date | None = None) -> dict[int, Decimal]:
    """Debit-minus-credit balance of an account role per PO (of entries dated up to ``through``).

    The lines are found by obligation alone (its index) and summed per account, the role's accounts
    picked in Python: filtering on the account in SQL let the planner walk the account's index instead,
    reading every line of the role (336,000 deferred lines, 280 ms per revenue-run batch of 200
    obligations at 100,000 contracts) — a cost that grew with the ledger."""
    from django.db.models import Sum

    accounts = set(Account.objects.filter(role=role).values_list("pk", flat=True))
    lines = JournalLine.objects.filter(obligation_id__in=list(obligation_ids))
    if through is not None:
        lines = lines.filter(entry__date__lte=through)
    rows = lines.values("obligation_id", "account_id").annotate(d=Sum("debit"), c=Sum("credit")).order_by()
    out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        if row["account_id"] in accounts:
            out[row["obligation_id"]] += stored_sum(row["d"]) - stored_sum(row["c"])
    return out
