"""First-in, first-out attribution of recognized revenue to billings, per performance obligation:
the engine behind the waterfall and the ageing of unbilled receivables.

Amounts here are integers in the currency's minor unit (cents): one grouped query returns them
already scaled and rounded by the database, so the per-obligation work is integer arithmetic; the
callers turn the (small) aggregated results back into ``Decimal``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BigIntegerField, DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Cast, Round

from revops.money import minor_units
from revrec.models import JournalLine, PerformanceObligation
from revrec.reports.common import BILLING_SOURCES, POSITION_ROLES, REVENUE_ROLES, _account_ids

# --- FIFO attribution (pure) -------------------------------------------------------------------------


def attribute_fifo(
    billed: list[tuple[str, int]], recognized: list[tuple[str, int]]
) -> dict[tuple[str, str], int]:
    """Match recognized revenue to billings first-in, first-out.

    Both lists are ``(period, amount)`` in period order. Each amount covers the next segment of a
    cumulative axis (billing 100 then 50 covers [0, 100) then [100, 150)); a cell (billed period,
    recognized period) is the overlap of the two segments. A negative amount (a void, a credit note,
    a reversed recognition) walks back over the axis and counts negative, so its effect lands on the
    amounts it undoes. Whatever a billing does not overlap is still deferred; whatever a recognition
    does not overlap is not yet billed (the callers compute those remainders). Works on any numbers
    (integers in minor units here, ``Decimal`` in the tests)."""

    def segments(items):
        out, pos = [], 0
        for period, amount in items:
            if amount:
                out.append((period, pos, pos + amount))
                pos += amount
        return out

    if all(a >= 0 for _, a in billed) and all(a >= 0 for _, a in recognized):
        return _sweep(billed, recognized)[0]
    bs, rs = segments(billed), segments(recognized)
    cells: dict[tuple[str, str], int] = defaultdict(int)
    for bp, b0, b1 in bs:
        sb, blo, bhi = (1, b0, b1) if b1 > b0 else (-1, b1, b0)
        for rp, r0, r1 in rs:
            sr, rlo, rhi = (1, r0, r1) if r1 > r0 else (-1, r1, r0)
            overlap = min(bhi, rhi) - max(blo, rlo)
            if overlap > 0:
                cells[(bp, rp)] += sb * sr * overlap
    return {k: v for k, v in cells.items() if v}


def _sweep(billed, recognized):
    """The common case, nothing negative: one pass, returning (cells, deferred left per billing
    period, not yet billed per recognition period)."""
    cells: dict[tuple[str, str], int] = {}
    deferred: dict[str, int] = {}
    unbilled: dict[str, int] = {}
    bs = [(p, a) for p, a in billed if a]
    rs = [(p, a) for p, a in recognized if a]
    if not bs or not rs:
        for p, a in bs:
            deferred[p] = deferred.get(p, 0) + a
        for p, a in rs:
            unbilled[p] = unbilled.get(p, 0) + a
        return cells, deferred, unbilled
    i = j = 0
    bp, b_left = bs[0]
    rp, r_left = rs[0]
    while True:
        take = b_left if b_left < r_left else r_left
        cells[(bp, rp)] = cells.get((bp, rp), 0) + take
        b_left -= take
        r_left -= take
        if not b_left:
            i += 1
            if i == len(bs):
                break
            bp, b_left = bs[i]
        if not r_left:
            j += 1
            if j == len(rs):
                break
            rp, r_left = rs[j]
    # What is left: the current billing (if any) and every later one stay deferred; the current
    # recognition (if any) and every later one are not yet billed.
    if i < len(bs):
        if b_left:
            deferred[bp] = deferred.get(bp, 0) + b_left
        for p, a in bs[i + 1 :]:
            deferred[p] = deferred.get(p, 0) + a
    if j < len(rs):
        if r_left:
            unbilled[rp] = unbilled.get(rp, 0) + r_left
        for p, a in rs[j + 1 :]:
            unbilled[p] = unbilled.get(p, 0) + a
    return cells, deferred, unbilled


@dataclass
class ObligationFlows:
    """Billing and recognition of one performance obligation (contract + PO key), by period, in minor
    units."""

    contract_id: int | None
    key: str | None
    product: str = ""
    billed: dict[str, int] = field(default_factory=dict)
    recognized: dict[str, int] = field(default_factory=dict)
    cells: dict[tuple[str, str], int] = field(default_factory=dict)
    _remainders: tuple | None = None

    def attribute(self) -> None:
        billed, recognized = sorted(self.billed.items()), sorted(self.recognized.items())
        if all(a >= 0 for _, a in billed) and all(a >= 0 for _, a in recognized):
            self.cells, deferred, unbilled = _sweep(billed, recognized)
            self._remainders = (deferred, unbilled)
        else:
            self.cells, self._remainders = attribute_fifo(billed, recognized), None

    def deferred_by_billed(self) -> dict[str, int]:
        if self._remainders is not None:
            return self._remainders[0]
        used: dict[str, int] = defaultdict(int)
        for (bp, _rp), amount in self.cells.items():
            used[bp] += amount
        return {bp: amt - used[bp] for bp, amt in self.billed.items() if amt - used[bp]}

    def unbilled_by_recognized(self) -> dict[str, int]:
        if self._remainders is not None:
            return self._remainders[1]
        used: dict[str, int] = defaultdict(int)
        for (_bp, rp), amount in self.cells.items():
            used[rp] += amount
        return {rp: amt - used[rp] for rp, amt in self.recognized.items() if amt - used[rp]}


def _minor_sum(condition: Q, currency: str):
    """Σ(credit − debit) over the matching lines, in integer minor units, computed by the database."""
    net = ExpressionWrapper(
        F("credit") - F("debit"), output_field=DecimalField(max_digits=24, decimal_places=4)
    )
    scaled = Sum(net, filter=condition) * (10 ** minor_units(currency))
    return Cast(Round(scaled), BigIntegerField())


def obligation_flows(*, currency: str, end: str) -> list[ObligationFlows]:
    """Billing and recognition per obligation and period, posted before ``end``, FIFO-attributed.
    One grouped query over the journal lines (obligation × period); the rest is integer work over
    those aggregates."""
    position, revenue = _account_ids(POSITION_ROLES), _account_ids(REVENUE_ROLES)
    query = (
        JournalLine.objects.filter(entry__currency=currency, entry__period__lt=end)
        .filter(
            Q(account_id__in=position, entry__source_type__in=BILLING_SOURCES) | Q(account_id__in=revenue)
        )
        .values_list("obligation_id", "contract_id", "entry__period")
        .annotate(
            billed=_minor_sum(Q(account_id__in=position, entry__source_type__in=BILLING_SOURCES), currency),
            recognized=_minor_sum(Q(account_id__in=revenue), currency),
        )
        .order_by()
    )
    # Plain tuples of ints and strings: no per-row ORM conversion needed (tens of thousands of rows).
    try:
        sql, params = query.query.sql_with_params()
    except EmptyResultSet:  # books with no chart of accounts yet: nothing can have flowed
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # Every obligation of the currency (no list of thousands of ids as query parameters).
    pos = {
        pk: (contract_id, key, product)
        for pk, contract_id, key, product in PerformanceObligation.objects.filter(
            currency=currency
        ).values_list("pk", "contract_id", "key", "product__code")
    }
    flows: dict[tuple, ObligationFlows] = {}
    for obligation_id, contract_id, period, billed, recognized in rows:
        po = pos.get(obligation_id)
        key = (po[0], po[1]) if po else (contract_id, None)
        item = flows.get(key)
        if item is None:
            item = flows[key] = ObligationFlows(contract_id=key[0], key=key[1], product=po[2] if po else "")
        if billed:
            item.billed[period] = item.billed.get(period, 0) + int(billed)
        if recognized:
            item.recognized[period] = item.recognized.get(period, 0) + int(recognized)
    for item in flows.values():
        item.attribute()
    return list(flows.values())
