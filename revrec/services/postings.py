"""Billing feeds revenue (accounting.md §6): postings for finalized invoices, voids, credit notes and
payments, and revenue recognized for a period. Each runs inside the transaction that consumes the
outbox event (for invoices: the finalizing transaction itself)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Prefetch, Sum, prefetch_related_objects
from django.utils import timezone

from billing.contracts.models import Contract
from billing.models import CreditExpiry, CreditGrant, CreditNote, Invoice, InvoiceLine, Payment
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record_many
from revops.errors import InvalidTransition
from revops.money import round_money, stored_sum
from revrec.models import (
    ContractModification,
    JournalEntry,
    JournalLine,
    PerformanceObligation,
    RecognizedUsage,
    RevenueSchedule,
    ScheduleLine,
)
from revrec.services.ledger import (
    Draft,
    Unbalanced,
    account,
    balances_by_obligation,
    entry_date,
    entry_lines,
    journal_entry_post,
    revenue_account,
    reverse,
)
from revrec.services.obligations import obligation_for_invoice_line
from revrec.services.periods import (
    first_day,
    last_day,
    lock_posting_period,
    period_bounds,
    period_key,
    posting_period,
)

ZERO = Decimal(0)
USAGE_KINDS = ("usage", "true_up", "usage_adjustment")


def _obligations(contract) -> list[PerformanceObligation]:
    return list(
        PerformanceObligation.objects.filter(contract=contract)
        .order_by("-contract_version", "id")
        .prefetch_related("lines")
    )


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


def _invoice_draft(invoice: Invoice, obligations, unbilled: dict, accounts: _Accounts) -> Draft:
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
    lines = InvoiceLine.objects.select_related("contract_line", "product").order_by("id")
    by_pk = (
        Invoice.objects.select_related("contract", "customer")
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
    accounts = _Accounts()
    periods: dict[str, tuple[str, str]] = {}  # business month -> (target period, correction for)
    for wave in _waves(loaded):
        for posting in _post_wave(wave, obligations, accounts, periods):
            results[posting.invoice.pk] = posting.entry
    return results


def _post_wave(wave: list[Invoice], obligations, accounts: _Accounts, periods: dict) -> list[_InvoicePosting]:
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
    _insert_lines(written)
    _net_invoices(written, obligations)
    return written


def post_invoice_void(invoice: Invoice, *, day: date) -> JournalEntry | None:
    original = JournalEntry.objects.filter(source_key=f"invoice:{invoice.pk}").first()
    if original is None:
        return None
    return reverse(
        original, day=day, memo=f"Invoice {invoice.number} voided", source_key=f"invoice-void:{invoice.pk}"
    )


def recognized_to_date(po_ids) -> dict[int, Decimal]:
    rows = (
        JournalLine.objects.filter(
            account__role__in=["revenue", "revenue_sub"], obligation_id__in=list(po_ids)
        )
        .values("obligation_id")
        .annotate(c=Sum("credit"), d=Sum("debit"))
    )
    return {r["obligation_id"]: stored_sum(r["c"]) - stored_sum(r["d"]) for r in rows}


def billed_to_date(po_ids) -> dict[int, Decimal]:
    """Credits to deferred + unbilled from invoices, per PO (what has been billed)."""
    rows = (
        JournalLine.objects.filter(
            entry__source__in=["invoice", "reversal", "credit_note"],
            account__role__in=["deferred", "unbilled"],
            obligation_id__in=list(po_ids),
        )
        .values("obligation_id")
        .annotate(c=Sum("credit"), d=Sum("debit"))
    )
    return {r["obligation_id"]: stored_sum(r["c"]) - stored_sum(r["d"]) for r in rows}


def post_credit_note(note: CreditNote) -> JournalEntry | None:
    """Reverse the invoice's postings in proportion; the part already recognized goes to contra revenue."""
    note = CreditNote.objects.select_related("invoice", "invoice__contract").get(pk=note.pk)
    invoice, contract = note.invoice, note.invoice.contract
    obligations = _obligations(contract)
    recognized = recognized_to_date([po.pk for po in obligations])
    billed = billed_to_date([po.pk for po in obligations])
    draft = Draft()
    draft.cr(account("ar"), note.total, contract=contract, memo=f"Credit note {note.number}")
    draft.dr(account("tax"), note.tax, contract=contract, memo="Tax credited")
    for cn_line in note.lines.select_related(
        "invoice_line", "invoice_line__contract_line", "invoice_line__product"
    ):
        line: InvoiceLine = cn_line.invoice_line
        po = obligation_for_invoice_line(line, obligations)
        share = ZERO
        if po is not None and billed.get(po.pk):
            share = min(Decimal(1), max(ZERO, recognized.get(po.pk, ZERO) / billed[po.pk]))
        contra = round_money(cn_line.amount * share, note.currency)
        kw = {"contract": contract, "obligation": po, "product": line.product, "memo": line.description[:300]}
        draft.dr(account("contra"), contra, **kw)
        draft.dr(account("deferred"), cn_line.amount - contra, **kw)
    return journal_entry_post(
        draft=draft,
        day=note.issue_date,
        source=JournalEntry.Source.CREDIT_NOTE,
        source_type="billing.creditnote",
        source_id=note.pk,
        source_key=f"credit_note:{note.pk}",
        memo=f"Credit note {note.number} on {invoice.number}",
        currency=note.currency,
        contract=contract,
    )


def post_payment(payment: Payment) -> JournalEntry | None:
    payment = Payment.objects.select_related("invoice", "invoice__contract").get(pk=payment.pk)
    draft = Draft()
    contract = payment.invoice.contract
    draft.dr(account("cash"), payment.amount, contract=contract, memo=f"Payment {payment.reference}".strip())
    draft.cr(account("ar"), payment.amount, contract=contract, memo=f"Invoice {payment.invoice.number}")
    return journal_entry_post(
        draft=draft,
        day=payment.date,
        source=JournalEntry.Source.PAYMENT,
        source_type="billing.payment",
        source_id=payment.pk,
        source_key=f"payment:{payment.pk}",
        memo=f"Payment on {payment.invoice.number}",
        currency=payment.currency,
        contract=contract,
    )


def _post_credit_movement(*, debit, credit, amount, grant, day, source, obj, memo) -> JournalEntry | None:
    """One two-line entry moving ``amount`` of a prepaid credit (its grant or its expiry)."""
    memo = memo[:300]
    draft = Draft()
    draft.dr(debit, amount, contract=grant.contract, memo=memo)
    draft.cr(credit, amount, contract=grant.contract, memo=memo)
    return journal_entry_post(
        draft=draft,
        day=day,
        source=source,
        source_type=f"{obj._meta.app_label}.{obj._meta.model_name}",
        source_id=obj.pk,
        source_key=f"{source.replace('_', '-')}:{obj.pk}",
        memo=memo,
        currency=grant.currency,
        contract=grant.contract,
    )


def post_credit_grant(grant: CreditGrant) -> JournalEntry | None:
    """A purchased prepaid credit is money the customer paid ahead: Dr cash, Cr prepaid customer
    credits (a liability) on the grant date. A goodwill credit is a concession nobody paid for: Dr
    4910 goodwill credits (contra revenue), Cr prepaid customer credits — never cash. Invoices that
    draw on either debit the liability (post_invoice), so the account's credit balance is what
    customers can still draw."""
    grant = CreditGrant.objects.select_related("customer", "contract").get(pk=grant.pk)
    goodwill = grant.kind == CreditGrant.Kind.GOODWILL
    what = "Goodwill credit" if goodwill else "Prepaid credits"
    return _post_credit_movement(
        debit=account("goodwill") if goodwill else account("cash"),
        credit=account("credits"),
        amount=grant.amount,
        grant=grant,
        day=grant.granted_on,
        source=JournalEntry.Source.CREDIT_GRANT,
        obj=grant,
        memo=f"{what} for {grant.customer.name}" + (f": {grant.reason}" if grant.reason else ""),
    )


def post_credit_expiry(expiry: CreditExpiry) -> JournalEntry | None:
    """Breakage: the unused part of an expired purchased credit can no longer be drawn, so the
    liability is released on the expiry date to breakage revenue (Dr prepaid customer credits, Cr 4800)
    — revenue of its own, outside the contracts' obligations and their deferred-revenue roll-forward.
    The unused part of an expired goodwill credit was never paid for: it reverses the concession (Dr
    prepaid customer credits, Cr 4910 goodwill credits), so the contra revenue is what was drawn."""
    expiry = CreditExpiry.objects.select_related("grant__customer", "grant__contract").get(pk=expiry.pk)
    goodwill = expiry.grant.kind == CreditGrant.Kind.GOODWILL
    return _post_credit_movement(
        debit=account("credits"),
        credit=account("goodwill") if goodwill else account("breakage"),
        amount=expiry.amount,
        grant=expiry.grant,
        day=expiry.expired_on,
        source=JournalEntry.Source.CREDIT_EXPIRY,
        obj=expiry,
        memo=f"Unused goodwill credit of {expiry.grant.customer.name} expired (concession reversed)"
        if goodwill
        else f"Unused prepaid credits of {expiry.grant.customer.name} expired (breakage)",
    )


# --- recognition ----------------------------------------------------------------------------------------


class _Accounts:
    """The accounts a recognition posts to, looked up once per batch instead of once per line."""

    def __init__(self) -> None:
        self._roles: dict[str, object] = {}
        self._revenue: dict[str | None, object] = {}

    def role(self, role: str):
        if role not in self._roles:
            self._roles[role] = account(role)
        return self._roles[role]

    def revenue(self, code: str | None):
        if code not in self._revenue:
            self._revenue[code] = revenue_account(code)  # raises for a non-revenue account: not cached
        return self._revenue[code]


def _recognize(
    draft: Draft,
    po: PerformanceObligation,
    amount: Decimal,
    deferred: dict,
    unbilled: dict,
    contract,
    memo: str,
    accounts: _Accounts | None = None,
) -> None:
    """Dr deferred up to the PO's deferred balance, Dr unbilled for the rest; Cr revenue. A reduction
    (a negative line: a downward re-estimate's catch-up) reverses the contract asset first — Cr unbilled
    up to the PO's unbilled balance — and only the excess becomes a contract liability (Cr deferred)."""
    accounts = accounts or _Accounts()
    kw = {"contract": contract, "obligation": po, "product": po.product, "memo": memo}
    if amount >= 0:
        available = max(-deferred[po.pk], ZERO)  # deferred is a credit balance
        from_deferred = min(amount, available)
    else:
        from_unbilled = min(-amount, max(unbilled[po.pk], ZERO))  # unbilled is a debit balance
        from_deferred = amount + from_unbilled
    draft.dr(accounts.role("deferred"), from_deferred, **kw)
    draft.dr(accounts.role("unbilled"), amount - from_deferred, **kw)
    deferred[po.pk] += from_deferred
    unbilled[po.pk] += amount - from_deferred
    draft.cr(accounts.revenue(po.product.revenue_account), amount, **kw)


def _month_before(day) -> str:
    return f"{day.year - 1}-12" if day.month == 1 else f"{day.year:04d}-{day.month - 1:02d}"


def recognize_contract_period(*, contract, period: str) -> JournalEntry | None:
    """Post the contract's revenue for ``period`` (see :func:`recognize_contracts_period`, of which
    this is the one-contract case). Returns the entry, or None when nothing new was recognized."""
    return recognize_contracts_period(contract_ids=[contract.pk], period=period)[contract.pk]


@dataclass(frozen=True)
class _Due:
    """An approved, unposted schedule line: what recognition reads of it."""

    pk: int
    period: str
    amount: Decimal
    obligation_id: int


@dataclass
class _Recognition:
    """One contract's recognition for a period, computed in memory before anything is written."""

    contract: Contract
    draft: Draft
    schedule_lines: list[_Due]
    usage_lines: list[InvoiceLine]
    key: str
    entry: JournalEntry | None = None


@dataclass
class _BatchReads:
    """What the recognition of a batch of contracts reads, with one query per kind of record for all
    of them, after their rows are locked."""

    contracts: dict[int, Contract]
    obligations: dict[int, list[PerformanceObligation]]
    deferred: dict[int, Decimal]
    unbilled: dict[int, Decimal]
    held: dict[int, date]
    schedule_lines: dict[int, list[_Due]]
    usage_lines: dict[int, list[InvoiceLine]]


def _batch_reads(ids: list[int], period: str) -> _BatchReads:
    _start, end = period_bounds(period)
    contracts = {c.pk: c for c in Contract.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    obligations: dict[int, list[PerformanceObligation]] = defaultdict(list)
    for po in (
        PerformanceObligation.objects.filter(contract_id__in=ids)
        .order_by("-contract_version", "id")
        .select_related("product")
    ):
        obligations[po.contract_id].append(po)
    po_ids = [po.pk for pos in obligations.values() for po in pos]
    through = entry_date(last_day(period))
    deferred = balances_by_obligation("deferred", po_ids, through=through)
    unbilled = balances_by_obligation("unbilled", po_ids, through=through)
    # A contract modification waiting for approval holds the contract's revenue for the periods on or
    # after its effective date (accounting.md §10): what it applies is measured at that date.
    held: dict[int, date] = {}
    for contract_id, effective in (
        ContractModification.objects.filter(
            contract_id__in=ids, status=ContractModification.Status.PENDING_APPROVAL
        )
        .order_by("effective_date")
        .values_list("contract_id", "effective_date")
    ):
        held.setdefault(contract_id, effective)
    schedule_lines: dict[int, list[_Due]] = defaultdict(list)
    for pk, key, amount, po_id, contract_id in (
        ScheduleLine.objects.filter(
            schedule__obligation__contract_id__in=ids,
            period__lte=period,
            schedule__status=RevenueSchedule.Status.APPROVED,
            posted_entry__isnull=True,
        )
        .order_by("period", "id")
        .values_list("pk", "period", "amount", "schedule__obligation_id", "schedule__obligation__contract_id")
    ):
        stop = min(period, _month_before(held[contract_id])) if contract_id in held else period
        if key <= stop:
            schedule_lines[contract_id].append(_Due(pk, key, amount, po_id))
    usage_lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    for line in (
        InvoiceLine.objects.filter(
            invoice__contract_id__in=ids,
            invoice__status__in=["finalized", "paid"],
            kind__in=USAGE_KINDS,
            service_start__lt=end,
            recognition__isnull=True,
        )
        .select_related("contract_line", "product")
        .annotate(contract_ref=F("invoice__contract_id"))
        .order_by("id")
    ):
        usage_lines[line.contract_ref].append(line)
    # Which obligation a usage line belongs to is decided on the obligations' contract lines: read
    # only for the contracts that have usage to recognize.
    prefetch_related_objects([po for pk in usage_lines for po in obligations[pk]], "lines")
    return _BatchReads(contracts, obligations, deferred, unbilled, held, schedule_lines, usage_lines)


def _compute(reads: _BatchReads, contract: Contract, period: str, accounts: _Accounts) -> _Recognition | None:
    """The contract's entry for ``period`` in memory: approved schedule lines of fixed POs up to the
    period (or up to the month before a pending modification's effective date), and usage billed for
    service that started before the period ends (as-invoiced practical expedient). None: nothing new."""
    obligations = reads.obligations[contract.pk]
    pos = {po.pk: po for po in obligations}
    draft = Draft()
    schedule_lines = reads.schedule_lines[contract.pk]
    for sl in schedule_lines:
        po = pos[sl.obligation_id]
        _recognize(
            draft, po, sl.amount, reads.deferred, reads.unbilled, contract, f"{po.key} {sl.period}", accounts
        )
    usage_lines = reads.usage_lines[contract.pk]
    by_po: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line in usage_lines:
        po = obligation_for_invoice_line(line, obligations)
        if po is not None:
            by_po[po.pk] += line.amount
    for po_id, amount in by_po.items():
        po = pos[po_id]
        _recognize(draft, po, amount, reads.deferred, reads.unbilled, contract, f"{po.key} usage", accounts)
    if not schedule_lines and not usage_lines:
        return None
    debit, credit = draft.totals
    if debit != credit:
        raise Unbalanced(f"Revenue of {contract.number} for {period} does not balance: {debit} ≠ {credit}.")
    ids = ",".join([f"s{sl.pk}" for sl in schedule_lines] + [f"u{ln.pk}" for ln in usage_lines])
    key = "recognition:" + hashlib.sha256(f"{contract.pk}:{period}:{ids}".encode()).hexdigest()
    return _Recognition(contract, draft, schedule_lines, usage_lines, key)


def _entry_for(rec: _Recognition, period: str, target: str, correction_for: str) -> JournalEntry:
    day = last_day(period)
    contract = rec.contract
    memo = (
        f"Revenue recognized {period} — {contract.number}"
        if rec.draft.lines
        else f"Nothing to recognize {period} — {contract.number}"  # a marker: the lines are 'posted'
    )
    return JournalEntry(
        date=first_day(target) if correction_for else day,
        business_date=day,
        period=target,
        correction_for_period=correction_for,
        source=JournalEntry.Source.RECOGNITION,
        source_type="contracts.contract",
        source_id=str(contract.pk),
        source_key=rec.key,
        memo=memo[:300],
        currency=contract.currency,
        contract=contract,
    )


def _insert_entries(recs: list[_Recognition], period: str) -> list[_Recognition]:
    """Write the batch's entries with one INSERT; an entry whose key was posted meanwhile is left out
    (``ON CONFLICT DO NOTHING`` on PostgreSQL; elsewhere one INSERT per entry in a savepoint after a
    conflict). Returns the recognitions whose entry was written."""
    target, correction_for = lock_posting_period(last_day(period))
    entries = [_entry_for(rec, period, target.period, correction_for) for rec in recs]
    return _write_entries(recs, entries)


def _write_entries(recs: list, entries: list[JournalEntry]) -> list:
    """Insert ``entries`` (one per rec, in order) with one statement; sets ``rec.entry`` of those
    written and returns those recs (an entry whose key was posted meanwhile is left out)."""
    if connection.vendor == "postgresql":
        ids = _insert_entries_pg(entries)
        written = []
        for rec, entry in zip(recs, entries, strict=True):
            if entry.source_key in ids:
                entry.pk = ids[entry.source_key]
                entry._state.adding = False
                rec.entry = entry
                written.append(rec)
        return written
    try:
        with transaction.atomic():
            JournalEntry.objects.bulk_create(entries)
    except IntegrityError:
        written = []
        for rec, entry in zip(recs, entries, strict=True):
            entry.pk = None
            try:
                with transaction.atomic():
                    entry.save()
            except IntegrityError:
                continue
            rec.entry = entry
            written.append(rec)
        return written
    for rec, entry in zip(recs, entries, strict=True):
        rec.entry = entry
    return recs


_ENTRY_COLUMNS = (
    ("date", "date"),
    ("period", "text"),
    ("source", "text"),
    ("source_type", "text"),
    ("source_id", "text"),
    ("source_key", "text"),
    ("memo", "text"),
    ("currency", "text"),
    ("contract_id", "bigint"),
    ("correction_for_period", "text"),
    ("business_date", "date"),
)
_LINE_COLUMNS = (
    ("entry_id", "bigint"),
    ("account_id", "bigint"),
    ("debit", "numeric"),
    ("credit", "numeric"),
    ("contract_id", "bigint"),
    ("obligation_id", "bigint"),
    ("product_id", "bigint"),
    ("memo", "text"),
)


def _unnest_insert(table: str, columns, rows: list[tuple], *, extra: str = "", returning: str = ""):
    """``INSERT INTO table (columns) SELECT * FROM unnest(arrays)`` — one statement, the values sent as
    one array per column (PostgreSQL), without a model instance per row."""
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(table)} ({names}) "  # noqa: S608 - names are ours
        f"SELECT * FROM unnest({arrays}) {extra} {returning}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(column) for column in zip(*rows, strict=True)])
        return cursor.fetchall() if returning else None


def _insert_entries_pg(entries: list[JournalEntry]) -> dict[str, int]:
    """{source key: id} of the entries inserted (a key already posted is skipped)."""
    now = timezone.now()
    for entry in entries:
        entry.created_at = now
    columns = (*_ENTRY_COLUMNS, ("created_at", "timestamptz"))
    rows = [(*(getattr(entry, name) for name, _ in _ENTRY_COLUMNS), now) for entry in entries]
    returned = _unnest_insert(
        JournalEntry._meta.db_table,
        columns,
        rows,
        extra="ON CONFLICT (source_key) DO NOTHING",
        returning="RETURNING id, source_key",
    )
    return {key: pk for pk, key in returned}


def _insert_lines(written: list) -> None:
    """The entries' lines (netted per account and dimensions, as ``journal_entry_post`` writes them)."""
    merged = [(rec.entry, ln) for rec in written for ln in entry_lines(rec.draft)]
    if not merged:
        return
    if connection.vendor != "postgresql":
        JournalLine.objects.bulk_create([JournalLine(entry=entry, **ln) for entry, ln in merged])
        return

    def pk(obj):
        return obj.pk if obj is not None else None

    rows = [
        (
            entry.pk,
            ln["account"].pk,
            ln["debit"],
            ln["credit"],
            pk(ln.get("contract")),
            pk(ln.get("obligation")),
            pk(ln.get("product")),
            ln.get("memo", ""),
        )
        for entry, ln in merged
    ]
    _unnest_insert(JournalLine._meta.db_table, _LINE_COLUMNS, rows)


def _mark_schedule_lines(marks: list[tuple[int, int]]) -> None:
    """Set ``posted_entry`` of each (schedule line, entry) with one UPDATE."""
    if not marks:
        return
    if connection.vendor != "postgresql":
        for entry_id, group in _group_marks(marks).items():
            ScheduleLine.objects.filter(pk__in=group).update(posted_entry_id=entry_id)
        return
    table = connection.ops.quote_name(ScheduleLine._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS s SET posted_entry_id = u.entry_id "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::bigint[]) AS u (id, entry_id) "
            "WHERE s.id = u.id AND s.posted_entry_id IS NULL",
            [[line for line, _ in marks], [entry for _, entry in marks]],
        )


def _group_marks(marks: list[tuple[int, int]]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for line, entry in marks:
        out[entry].append(line)
    return out


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
    return _write_entries(postings, entries)


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


def _net_batch(written: list[_Recognition], reads: _BatchReads) -> None:
    """:func:`net_out_of_order` for the batch's posted entries — only for contracts whose obligations
    have a deferred or unbilled posting dated after the entry (one query finds them)."""
    posted = [rec for rec in written if rec.draft.lines]
    if not posted:
        return
    day = posted[0].entry.date  # the batch's entries share their date
    po_ids = [po.pk for rec in posted for po in reads.obligations[rec.contract.pk]]
    later = set(
        JournalLine.objects.filter(
            obligation_id__in=po_ids, account__role__in=["deferred", "unbilled"], entry__date__gt=day
        )
        .values_list("obligation__contract_id", flat=True)
        .distinct()
    )
    for rec in posted:
        if rec.contract.pk in later:
            net_out_of_order(rec.entry, reads.obligations[rec.contract.pk])


@transaction.atomic
def recognize_contracts_period(
    *, contract_ids, period: str, errors: dict | None = None, actor="revenue_run"
) -> dict[int, JournalEntry | None]:
    """Post the revenue of several contracts for ``period``, set-based: the contracts are locked (one
    statement, in id order) and their obligations, balances, pending modifications, unposted approved
    schedule lines and unrecognized usage lines read with one query each; every contract's entry is
    computed in memory; the entries, their lines, the schedule-line and usage markers and one audit
    event per entry are written with one statement per table.

    One entry per contract and call; running again finds nothing new — the schedule lines and usage
    lines each remember the entry that recognized them (in the same transaction, under the contract's
    lock), and the entry's ``source_key`` (a digest of the contract, period and lines) is unique, so a
    re-delivered batch or a second run posts nothing twice. Lines that recognize nothing (a zero
    schedule month) get a marker entry without lines. Returns {contract id: entry or None}.

    With ``errors``, a contract whose computation raises (a product mapped to a non-revenue account,
    an unbalanced entry) is left out and its exception stored there; a database error propagates."""
    ids = sorted(set(contract_ids))
    results: dict[int, JournalEntry | None] = dict.fromkeys(contract_ids)
    if not ids:
        return results
    reads = _batch_reads(ids, period)
    accounts = _Accounts()
    recs: list[_Recognition] = []
    for pk in ids:
        contract = reads.contracts.get(pk)
        if contract is None:
            continue
        try:
            rec = _compute(reads, contract, period, accounts)
        except DatabaseError:
            raise
        except Exception as exc:
            if errors is None:
                raise
            errors[pk] = exc
            continue
        if rec is not None:
            recs.append(rec)
    if not recs:
        return results
    posted_keys = set(
        JournalEntry.objects.filter(source_key__in=[rec.key for rec in recs]).values_list(
            "source_key", flat=True
        )
    )
    recs = [rec for rec in recs if rec.key not in posted_keys]
    if not recs:
        return results
    written = _insert_entries(recs, period)
    _insert_lines(written)
    _net_batch(written, reads)
    _mark_schedule_lines([(sl.pk, rec.entry.pk) for rec in written for sl in rec.schedule_lines])
    RecognizedUsage.objects.bulk_create(
        [RecognizedUsage(invoice_line=ln, entry=rec.entry) for rec in written for ln in rec.usage_lines]
    )
    audit_record_many(
        [
            {
                "actor": actor,
                "action": AuditAction.REVENUE_RECOGNIZED,
                "obj": rec.entry,
                "changes": {
                    "contract": rec.contract.number,
                    "period": period,
                    "posted_in": rec.entry.period,
                    "revenue": rec.draft.totals[0],
                    "schedule_lines": len(rec.schedule_lines),
                    "usage_lines": len(rec.usage_lines),
                },
            }
            for rec in written
        ]
    )
    for rec in written:
        if rec.draft.lines:
            results[rec.contract.pk] = rec.entry
    return results


def net_out_of_order(entry: JournalEntry, obligations: list[PerformanceObligation]) -> JournalEntry | None:
    """Keep each obligation's contract position on one side at every date.

    Invoices and recognition split against the deferred / unbilled balances as of their own date. When
    an entry is dated before others already posted (March's revenue run after April's invoices, an
    invoice finalized after its period's run), those later entries were split without it, and from
    their date on the obligation can carry both a deferred (credit) and an unbilled (debit) balance.
    One correction entry, dated at the first later posting, nets them: Dr deferred, Cr unbilled."""
    ids = [po.pk for po in obligations]
    later = (
        JournalLine.objects.filter(
            obligation_id__in=ids, account__role__in=["deferred", "unbilled"], entry__date__gt=entry.date
        )
        .exclude(entry=entry)
        .order_by("entry__date")
        .values_list("entry__date", flat=True)
        .first()
    )
    if later is None:
        return None
    deferred = balances_by_obligation("deferred", ids)
    unbilled = balances_by_obligation("unbilled", ids)
    draft = Draft()
    for po in obligations:
        amount = min(-deferred[po.pk], unbilled[po.pk])
        if amount > 0:
            kw = {"contract": entry.contract, "obligation": po, "product": po.product}
            memo = f"{po.key}: contract liability and asset netted"
            draft.dr(account("deferred"), amount, memo=memo, **kw)
            draft.cr(account("unbilled"), amount, memo=memo, **kw)
    return journal_entry_post(
        draft=draft,
        day=later,
        source=JournalEntry.Source.CORRECTION,
        source_type="revrec.journalentry",
        source_id=entry.pk,
        source_key=f"net:{entry.pk}",
        memo=f"Contract asset/liability netted after an earlier-dated posting ({entry.memo})",
        currency=entry.currency,
        contract=entry.contract,
    )
