"""What the postings share: the chart's accounts looked up once per batch, and the netting of an
obligation's contract asset and liability after an earlier-dated posting."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from revrec.models import (
    JournalEntry,
    JournalLine,
    PerformanceObligation,
)
from revrec.services.ledger import (
    Draft,
    account,
    balances_by_obligation,
    journal_entry_post,
    revenue_account,
)
from revrec.services.periods import first_day, lock_posting_period
from revrec.services.postings.sql import insert_lines, write_entries

ZERO = Decimal(0)


class Accounts:
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


def obligations_of(contract) -> list[PerformanceObligation]:
    return list(
        PerformanceObligation.objects.filter(contract=contract)
        .order_by("-contract_version", "id")
        .prefetch_related("lines")
    )


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


@dataclass
class _Netting:
    """One entry's netting, computed in memory before the batch's entries are written."""

    draft: Draft
    entry: JournalEntry | None = None


def net_out_of_order_many(pairs: list[tuple[JournalEntry, list[PerformanceObligation]]]) -> None:
    """:func:`net_out_of_order` for many (entry, its contract's obligations) at once — the same
    correction entries and lines, read and written set-based: the later postings of every obligation,
    then the deferred and the unbilled balances, with one query each; the entries and their lines with
    one statement per table. The contracts must not share obligations (each entry nets its own)."""
    pairs = [(entry, obligations) for entry, obligations in pairs if obligations]
    if not pairs:
        return
    ids = [po.pk for _entry, obligations in pairs for po in obligations]
    later_lines: dict[int, list[tuple[int, date]]] = defaultdict(list)
    for po_id, entry_id, day in (
        JournalLine.objects.filter(
            obligation_id__in=ids,
            account__role__in=["deferred", "unbilled"],
            entry__date__gt=min(entry.date for entry, _obligations in pairs),
        )
        .values_list("obligation_id", "entry_id", "entry__date")
        .distinct()
    ):
        later_lines[po_id].append((entry_id, day))
    deferred = balances_by_obligation("deferred", ids)
    unbilled = balances_by_obligation("unbilled", ids)
    to_post: list[tuple[JournalEntry, date, Draft]] = []
    deferred_account, unbilled_account = account("deferred"), account("unbilled")
    for entry, obligations in pairs:
        dates = [
            day
            for po in obligations
            for entry_id, day in later_lines[po.pk]
            if entry_id != entry.pk and day > entry.date
        ]
        if not dates:
            continue
        draft = Draft()
        for po in obligations:
            amount = min(-deferred[po.pk], unbilled[po.pk])
            if amount > 0:
                kw = {"contract": entry.contract, "obligation": po, "product": po.product}
                memo = f"{po.key}: contract liability and asset netted"
                draft.dr(deferred_account, amount, memo=memo, **kw)
                draft.cr(unbilled_account, amount, memo=memo, **kw)
        if draft.lines:
            to_post.append((entry, min(dates), draft))
    if not to_post:
        return
    posted = set(
        JournalEntry.objects.filter(
            source_key__in=[f"net:{entry.pk}" for entry, _d, _x in to_post]
        ).values_list("source_key", flat=True)
    )
    targets = {day: lock_posting_period(day) for day in sorted({day for _e, day, _x in to_post})}
    nettings, entries = [], []
    for entry, day, draft in to_post:
        key = f"net:{entry.pk}"
        if key in posted:
            continue
        period, correction_for = targets[day]
        nettings.append(_Netting(draft))
        entries.append(
            JournalEntry(
                date=first_day(period.period) if correction_for else day,
                business_date=day,
                period=period.period,
                source=JournalEntry.Source.CORRECTION,
                source_type="revrec.journalentry",
                source_id=str(entry.pk),
                source_key=key,
                memo=f"Contract asset/liability netted after an earlier-dated posting ({entry.memo})"[:300],
                currency=entry.currency,
                contract=entry.contract,
                correction_for_period=correction_for,
            )
        )
    if entries:
        insert_lines(write_entries(nettings, entries))
