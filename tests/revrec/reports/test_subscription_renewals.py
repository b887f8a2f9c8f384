"""Renewal uplift in the subscription metrics (issue 17 §6 with §1): a termed contract at 100.00 a month
renewed for 12 months with a 5 % uplift on 1 Jan 2027 goes from 100.00 MRR at the end of December to
105.00 at the end of January — a renewal uplift of +5.00, not expansion; NRR 105.00 %, GRR 100.00 %; the
renewal term is booked (12 × 105.00 = 1,260.00) when the renewal is made."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billing.contracts.models import ContractRenewal
from billing.contracts.services.renewals import contract_renew
from revrec.reports.subscriptions import subscription_metrics
from tests.billing.factories import ContractFactory, settle
from tests.revops.factories import CustomerFactory

D = Decimal
pytestmark = pytest.mark.django_db


def test_a_renewal_with_uplift_is_renewal_uplift():
    contract = ContractFactory(
        customer=CustomerFactory(name="Renewing"),
        start_date=date(2026, 1, 1),
        end_date=date(2027, 1, 1),
        lines=[{"key": "svc", "product": "platform", "unit_price": "100.00", "billing": "recurring"}],
        renewal={"policy": "termed", "term_months": 12, "uplift_percent": "5.00"},
    )
    with settle(), transaction.atomic():
        renewal = contract_renew(contract=contract, as_of=date(2027, 1, 1))
    assert renewal is not None and renewal.status == ContractRenewal.Status.APPLIED
    report = subscription_metrics(start="2026-12", end="2027-02", currency="USD")
    december, january = report["rows"]
    assert (december["closing_mrr"], january["closing_mrr"]) == (D("100.00"), D("105.00"))
    assert {k: january[k] for k in ("new", "expansion", "contraction", "churn", "renewal") if january[k]} == {
        "renewal": D("5.00")
    }
    assert (january["nrr"], january["grr"]) == (D("105.00"), D("100.00"))
    # Booked when the renewal was made, or on its term start if that is earlier: made by this test
    # before 1 January 2027 (today), so in December, or in January when the test runs after it.
    assert december["bookings"] + january["bookings"] == D("1260.00")
    assert report["ties"]
