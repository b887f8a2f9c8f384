"""What the postings share: the chart's accounts looked up once per batch, and the netting of an
obligation's contract asset and liability after an earlier-dated posting."""

from __future__ import annotations

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
