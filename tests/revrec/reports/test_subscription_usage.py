"""Subscription metrics on the reports' shared ledger (reports_world.py): a usage-priced line counts at
the trailing three-month average of billed usage, and billings and revenue are the ledger's figures.

Contract A (Alpha): the hybrid plan, 100.00 a month in advance plus API calls in arrears; January's
calls (5.00) were billed on the invoice issued on 1 February. So A's MRR is 100.00 at the end of
January, 100 + 5.00 ÷ 3 = 101.666… → 101.67 at the ends of February, March and April (February is in
each of their trailing three months), and 100.00 again at the end of May. Contract B (Beta) has only
a one-time fee: no MRR. Billed (before tax, as posted): January 100 + 1,200 + 3,600 = 4,900.00,
February 100 + 5 = 105.00. Recognized: January 101.92 + 1,200 + 5.00 + 101.82 = 1,408.74, February
92.05 + 91.98 = 184.03, March 101.92 + 101.82 = 203.74 (test_reports.py's hand computation)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from revrec import reports
from revrec.reports.subscriptions import subscription_metrics
from tests.revrec import reports_world as _world
from tests.revrec.reports_world import URLS

world = _world.world  # the shared fixture

D = Decimal
pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


def test_usage_counts_at_its_trailing_three_month_average(world):
    report = subscription_metrics(start="2026-01", end="2026-07", currency="USD")
    closing = {r["period"]: r["closing_mrr"] for r in report["rows"]}
    assert closing == {
        "2026-01": D("100.00"),
        "2026-02": D("101.67"),
        "2026-03": D("101.67"),
        "2026-04": D("101.67"),
        "2026-05": D("100.00"),
        "2026-06": D("100.00"),
    }
    moves = {
        r["period"]: {k: r[k] for k in ("new", "expansion", "contraction") if r[k]} for r in report["rows"]
    }
    assert moves["2026-01"] == {"new": D("100.00")}
    assert moves["2026-02"] == {"expansion": D("1.67")}
    assert moves["2026-05"] == {"contraction": D("-1.67")}
    assert [c["name"] for c in report["by_customer"]] == ["Alpha"]  # Beta: one-time only


def test_billings_and_revenue_are_the_rollforward_figures(world):
    report = subscription_metrics(start="2026-01", end="2026-04", currency="USD")
    rows = {r["period"]: (r["billings"], r["revenue"]) for r in report["rows"]}
    assert rows == {
        "2026-01": (D("4900.00"), D("1408.74")),
        "2026-02": (D("105.00"), D("184.03")),
        "2026-03": (D("0.00"), D("203.74")),
    }
    for period, (billed, recognized) in rows.items():
        rollforward = reports.deferred_rollforward(period=period, currency="USD")
        assert (rollforward["billed"], rollforward["recognized"]) == (billed, recognized)
