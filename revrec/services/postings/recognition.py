"""Revenue recognized for a period (accounting.md §7), for a batch of contracts at once: the revenue
run's step (``revrec.services.runs``)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import DatabaseError, transaction
from django.db.models import F, prefetch_related_objects

from billing.contracts.models import Contract
from billing.models import InvoiceLine
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record_many
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
    balances_by_obligation,
    entry_date,
)
from revrec.services.obligations import obligation_for_invoice_line
from revrec.services.periods import (
    first_day,
    last_day,
    lock_posting_period,
    period_bounds,
)
from revrec.services.postings.common import ZERO, Accounts, net_out_of_order_many
from revrec.services.postings.sql import insert_lines, mark_schedule_lines, write_entries

USAGE_KINDS = ("usage", "true_up", "usage_adjustment")


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


def _compute(reads: _BatchReads, contract: Contract, period: str, accounts: Accounts) -> _Recognition | None:
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


def _recognize(
    draft: Draft,
    po: PerformanceObligation,
    amount: Decimal,
    deferred: dict,
    unbilled: dict,
    contract,
    memo: str,
    accounts: Accounts | None = None,
) -> None:
    """Dr deferred up to the PO's deferred balance, Dr unbilled for the rest; Cr revenue. A reduction
    (a negative line: a downward re-estimate's catch-up) reverses the contract asset first — Cr unbilled
    up to the PO's unbilled balance — and only the excess becomes a contract liability (Cr deferred)."""
    accounts = accounts or Accounts()
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
    return write_entries(recs, entries)


def _net_batch(written: list[_Recognition], reads: _BatchReads) -> None:
    """:func:`net_out_of_order` for the batch's posted entries, set-based (``net_out_of_order_many``) —
    only for contracts whose obligations have a deferred or unbilled posting dated after the entry (one
    query finds them)."""
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
    net_out_of_order_many(
        [(rec.entry, reads.obligations[rec.contract.pk]) for rec in posted if rec.contract.pk in later]
    )


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
    accounts = Accounts()
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
    insert_lines(written)
    _net_batch(written, reads)
    mark_schedule_lines([(sl.pk, rec.entry.pk) for rec in written for sl in rec.schedule_lines])
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
