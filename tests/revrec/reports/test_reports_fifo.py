"""FIFO attribution behind the waterfall and the unbilled ageing (pure, no database): every billed
amount ends up recognized in some month or still deferred, every recognized amount is matched to
some billing month or not yet billed — exactly, whatever the signs. Last, the waterfall of empty
books (a database test without the report world)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revrec.reports import waterfall
from revrec.reports.fifo import ObligationFlows, _sweep, attribute_fifo

PERIODS = [f"2026-{m:02d}" for m in range(1, 13)]


def series(min_value):
    return st.dictionaries(
        st.sampled_from(PERIODS), st.integers(min_value=min_value, max_value=10_000), max_size=8
    ).map(lambda d: sorted(d.items()))


def reference(billed, recognized):
    """Cell = overlap of the billing's and the recognition's segments of the cumulative axis."""

    def segments(items):
        out, pos = [], 0
        for period, amount in items:
            out.append((period, pos, pos + amount))
            pos += amount
        return out

    cells = defaultdict(int)
    for bp, b0, b1 in segments(billed):
        for rp, r0, r1 in segments(recognized):
            overlap = min(b1, r1) - max(b0, r0)
            if overlap > 0:
                cells[(bp, rp)] += overlap
    return dict(cells)


@settings(max_examples=300, deadline=None)
@given(billed=series(0), recognized=series(0))
def test_sweep_equals_segment_overlap(billed, recognized):
    cells, deferred, unbilled = _sweep(billed, recognized)
    assert cells == reference(billed, recognized) == attribute_fifo(billed, recognized)
    used_b, used_r = defaultdict(int), defaultdict(int)
    for (bp, rp), amount in cells.items():
        used_b[bp] += amount
        used_r[rp] += amount
        assert amount > 0
    for period, amount in billed:
        assert used_b[period] + deferred.get(period, 0) == amount
    for period, amount in recognized:
        assert used_r[period] + unbilled.get(period, 0) == amount
    # Either nothing is left deferred or nothing is left unbilled (FIFO matches all it can).
    assert not (sum(deferred.values()) and sum(unbilled.values()))


@settings(max_examples=300, deadline=None)
@given(billed=series(-5_000), recognized=series(-5_000))
def test_row_and_column_totals_hold_with_voids_and_reversals(billed, recognized):
    flows = ObligationFlows(contract_id=1, key="po", billed=dict(billed), recognized=dict(recognized))
    flows.attribute()
    rows, cols = defaultdict(int), defaultdict(int)
    for (bp, rp), amount in flows.cells.items():
        rows[bp] += amount
        cols[rp] += amount
    for period, amount in flows.deferred_by_billed().items():
        rows[period] += amount
    for period, amount in flows.unbilled_by_recognized().items():
        cols[period] += amount
    assert {p: a for p, a in rows.items() if a} == {p: a for p, a in billed if a}
    assert {p: a for p, a in cols.items() if a} == {p: a for p, a in recognized if a}
    # Net: what is left unbilled minus what is left deferred is recognized minus billed.
    left = sum(flows.unbilled_by_recognized().values()) - sum(flows.deferred_by_billed().values())
    assert left == sum(a for _, a in recognized) - sum(a for _, a in billed)


@pytest.mark.django_db
def test_waterfall_of_books_without_a_chart_of_accounts_is_empty_not_a_server_error():
    # Given books where nothing was ever posted (no chart of accounts yet)
    from revrec.models import Account

    Account.objects.all().delete()
    # When the waterfall is asked for, then every figure is zero (this was an EmptyResultSet 500)
    report = waterfall(start="2026-01", end="2026-04", currency="USD")
    amounts = [cell["amount"] for row in report["rows"] for cell in row["cells"]]
    assert amounts and all(amount == 0 for amount in amounts)
