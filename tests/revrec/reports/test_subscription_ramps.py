"""A ramp deal in the subscription metrics (issue 17 §6 with §5): MRR counts the step in force at each
month end. 100.00 a month in 2026, 120.00 from 1 Jan 2027 (a per-unit step, quantity 2: 200.00 →
240.00), and an ``amount`` step on a second line (50.00 → 80.00 a period whatever its quantity): the
customer's MRR is 250.00 at the end of December 2026 and 320.00 at the end of January 2027 — +70.00
expansion (a ramp step is not a renewal)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from revrec.reports.subscriptions import subscription_metrics
from tests.billing.factories import ContractFactory
from tests.revops.factories import CustomerFactory

D = Decimal
pytestmark = pytest.mark.django_db


def test_ramp_counts_the_step_in_force():
    ContractFactory(
        customer=CustomerFactory(name="Ramping"),
        start_date=date(2026, 1, 1),
        end_date=date(2028, 1, 1),
        lines=[
            {
                "key": "seats",
                "product": "platform",
                "quantity": "2",
                "ramp": [
                    {"from": "2026-01-01", "unit_price": "100.00"},
                    {"from": "2027-01-01", "unit_price": "120.00"},
                ],
            },
            {
                "key": "support",
                "product": "platform",
                "quantity": "3",
                "ramp": [
                    {"from": "2026-01-01", "amount": "50.00"},
                    {"from": "2027-01-01", "amount": "80.00"},
                ],
            },
        ],
    )
    report = subscription_metrics(start="2026-12", end="2027-02", currency="USD")
    december, january = report["rows"]
    assert (december["closing_mrr"], january["closing_mrr"]) == (D("250.00"), D("320.00"))
    assert {k: january[k] for k in ("new", "expansion", "contraction", "renewal") if january[k]} == {
        "expansion": D("70.00")
    }
    assert report["ties"]
