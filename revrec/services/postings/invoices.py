"""Finalized invoices post to the ledger (accounting.md §6), set-based, inside the finalizing
transaction; a voided invoice's entry is reversed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Prefetch, Sum

from billing.models import Invoice, InvoiceLine
from revops.errors import InvalidTransition
from revops.money import stored_sum
from revrec.models import (
    JournalEntry,
    JournalLine,
    PerformanceObligation,
)
from revrec.services.ledger import (
    Draft,
    Unbalanced,
    reverse,
)
from revrec.services.obligations import obligation_for_invoice_line
from revrec.services.periods import (
    first_day,
    lock_posting_period,
    period_key,
    posting_period,
)
from revrec.services.postings.common import ZERO, Accounts, net_out_of_order
from revrec.services.postings.sql import insert_lines, write_entries


def post_invoice(invoice: Invoice) -> JournalEntry | None:
    """Post one finalized invoice (see :func:`post_invoices`, of which this is the one-invoice case).
    Returns the entry, or None when already posted or nothing to post."""
    return post_invoices([invoice])[invoice.pk]


@dataclass
class _InvoicePosting:
    """One invoice's entry, computed in memory before anything is written."""

    invoice: Invoice
    draft: Draft
    day: date  # the entry's date (the first open period's first day for a closed period's invoice)
    target: str
    correction_for: str
    entry: JournalEntry | None = None

    @property
    def contract(self):
        return self.invoice.contract


def _invoice_draft(invoice: Invoice, obligations, unbilled: dict, accounts: Accounts) -> Draft:
    """Dr AR (total) [+ Dr prepaid credits]; Cr tax; per line Cr unbilled up to the PO's unbilled
    balance, Cr deferred for the rest (negative lines reverse the sides). ``unbilled`` is drawn down."""
    contract = invoice.contract
    draft = Draft()
    draft.dr(accounts.role("ar"), invoice.total, contract=contract, memo=f"Invoice {invoice.number}")
    draft.dr(
        accounts.role("credits"), invoice.credits_applied, contract=contract, memo="Prepaid credits applied"
    )
    draft.cr(accounts.role("tax"), invoice.tax, contract=contract, memo=f"Tax {invoice.tax_rate}%")
    for line in invoice.lines.all():
        po = obligation_for_invoice_line(line, obligations)
        amount = line.amount
        kw = {"contract": contract, "obligation": po, "product": line.product, "memo": line.description[:300]}
        if amount > 0 and po is not None:
            to_unbilled = min(amount, max(unbilled[po.pk], ZERO))
            draft.cr(accounts.role("unbilled"), to_unbilled, **kw)
            unbilled[po.pk] -= to_unbilled
            draft.cr(accounts.role("deferred"), amount - to_unbilled, **kw)
        else:
            draft.cr(accounts.role("deferred"), amount, **kw)
    return draft


def _unbilled_through(po_ids: list[int], days: dict[int, date]) -> dict[int, Decimal]:
    """Each PO's unbilled balance through its own day (``days``: {po id: day}) with one query: the
    balances grouped by entry date, summed in memory up to each PO's day."""
    out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    if not po_ids:
        return out
    rows = (
        JournalLine.objects.filter(
            account__role="unbilled", obligation_id__in=po_ids, entry__date__lte=max(days.values())
        )
        .values("obligation_id", "entry__date")
        .annotate(d=Sum("debit"), c=Sum("credit"))
    )
    for row in rows:
        if row["entry__date"] <= days[row["obligation_id"]]:
            out[row["obligation_id"]] += stored_sum(row["d"]) - stored_sum(row["c"])
    return out


def _waves(invoices: list[Invoice]) -> list[list[Invoice]]:
    """The invoices in waves holding at most one invoice per contract (the k-th invoice of each
    contract in the k-th wave, in the given order): within a wave no invoice's posting reads what
    another writes (their obligations differ), so a wave posts as one set exactly as one by one."""
    waves: list[list[Invoice]] = []
    seen: dict[int, int] = defaultdict(int)
    for invoice in invoices:
        k = seen[invoice.contract_id]
        seen[invoice.contract_id] += 1
        if k == len(waves):
            waves.append([])
        waves[k].append(invoice)
    return waves


@transaction.atomic
def post_invoices(invoices) -> dict[int, JournalEntry | None]:
    """Post finalized invoices, set-based: the invoices with their lines, the contracts' obligations
    and the obligations' unbilled balances are read with one query each; the chart's accounts once;
    the posting period of each distinct month checked (closed-period corrections, accounting.md §9)
    and locked once; every entry computed in memory; the entries and their lines written with one
    statement each. Only the invoices' ids are read from ``invoices`` (they are read again).

    The same entries, lines and amounts as posting them one by one in the given order: invoices of
    one contract are posted in successive waves (:func:`_waves`), each seeing the ones before it.
    Already posted invoices (``source_key`` ``invoice:<id>``) and invoices with nothing to post are
    left out. Returns {invoice id: entry or None}."""
    ids = list(dict.fromkeys(inv.pk for inv in invoices))
    results: dict[int, JournalEntry | None] = dict.fromkeys(ids)
    if not ids:
        return results
    # What the postings read of the lines (no rating breakdown or event filters, JSON decoded per
    # row); the few products read once each and shared.
    lines = (
        InvoiceLine.objects.select_related("contract_line")
        .prefetch_related("product")
        .defer("breakdown", "dimension", "event_match", "event_exclude")
        .order_by("id")
    )
    by_pk = (
        Invoice.objects.select_related("contract")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .in_bulk(ids)
    )
    loaded = [by_pk[pk] for pk in ids if pk in by_pk]
    obligations: dict[int, list[PerformanceObligation]] = defaultdict(list)
    for po in (
        PerformanceObligation.objects.filter(contract_id__in={inv.contract_id for inv in loaded})
        .order_by("-contract_version", "id")
        .select_related("product")
        .prefetch_related("lines")
    ):
        obligations[po.contract_id].append(po)
    accounts = Accounts()
    periods: dict[str, tuple[str, str]] = {}  # business month -> (target period, correction for)
    for wave in _waves(loaded):
        for posting in _post_wave(wave, obligations, accounts, periods):
            results[posting.invoice.pk] = posting.entry
    return results


def _post_wave(wave: list[Invoice], obligations, accounts: Accounts, periods: dict) -> list[_InvoicePosting]:
    posted = set(
        JournalEntry.objects.filter(source_key__in=[f"invoice:{inv.pk}" for inv in wave]).values_list(
            "source_key", flat=True
        )
    )
    wave = [inv for inv in wave if f"invoice:{inv.pk}" not in posted]
    if not wave:
        return []
    for invoice in wave:
        key = period_key(invoice.issue_date)
        if key not in periods:
            periods[key] = posting_period(invoice.issue_date)

    def day_of(invoice):
        target, correction_for = periods[period_key(invoice.issue_date)]
        return first_day(target) if correction_for else invoice.issue_date

    days = {po.pk: day_of(inv) for inv in wave for po in obligations[inv.contract_id]}
    unbilled = _unbilled_through(list(days), days)
    postings = []
    for invoice in wave:
        draft = _invoice_draft(invoice, obligations[invoice.contract_id], unbilled, accounts)
        debit, credit = draft.totals
        if debit != credit:
            raise Unbalanced(
                f"Entry 'Invoice {invoice.number} finalized' does not balance: debits {debit} ≠ credits {credit}."
            )
        if draft.lines:
            target, correction_for = periods[period_key(invoice.issue_date)]
            postings.append(_InvoicePosting(invoice, draft, day_of(invoice), target, correction_for))
    if not postings:
        return []
    # The target periods locked (once each) until the transaction ends: a close waits for them.
    for key in sorted({period_key(p.invoice.issue_date) for p in postings}):
        locked, correction_for = lock_posting_period(first_day(key))
        if (locked.period, correction_for) != periods[key]:  # a close or reopen landed meanwhile
            raise InvalidTransition("The accounting periods changed while posting; try again.")
    written = _insert_invoice_entries(postings)
    insert_lines(written)
    _net_invoices(written, obligations)
    return written


def _insert_invoice_entries(postings: list[_InvoicePosting]) -> list[_InvoicePosting]:
    entries = [
        JournalEntry(
            date=p.day,
            business_date=p.invoice.issue_date,
            period=p.target,
            correction_for_period=p.correction_for,
            source=JournalEntry.Source.INVOICE,
            source_type="billing.invoice",
            source_id=str(p.invoice.pk),
            source_key=f"invoice:{p.invoice.pk}",
            memo=f"Invoice {p.invoice.number} finalized"[:300],
            currency=p.invoice.currency,
            contract=p.invoice.contract,
        )
        for p in postings
    ]
    return write_entries(postings, entries)


def _net_invoices(written: list[_InvoicePosting], obligations: dict) -> None:
    """:func:`net_out_of_order` for the invoices' entries — only for contracts whose obligations have
    a deferred or unbilled posting dated after the entry (one query finds them)."""
    if not written:
        return
    po_ids = [po.pk for p in written for po in obligations[p.contract.pk]]
    later: dict[int, date] = {}
    for contract_id, day in (
        JournalLine.objects.filter(
            obligation_id__in=po_ids,
            account__role__in=["deferred", "unbilled"],
            entry__date__gt=min(p.entry.date for p in written),
        )
        .values_list("obligation__contract_id", "entry__date")
        .distinct()
    ):
        later[contract_id] = max(day, later.get(contract_id, day))
    for p in written:
        if p.contract.pk in later and later[p.contract.pk] > p.entry.date:
            net_out_of_order(p.entry, obligations[p.contract.pk])


def post_invoice_void(invoice: Invoice, *, day: date) -> JournalEntry | None:
    original = JournalEntry.objects.filter(source_key=f"invoice:{invoice.pk}").first()
    if original is None:
        return None
    return reverse(
        original, day=day, memo=f"Invoice {invoice.number} voided", source_key=f"invoice-void:{invoice.pk}"
    )
