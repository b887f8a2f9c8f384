"""The MRR movement report ties on the demo (issue 17 acceptance): after ``seed_demo``, in every
currency, every month from the first contract's start to this month has opening + movements = closing,
a month's opening is the previous month's closing whatever range it is read in, and the demo's story
shows: last month's seat growth is expansion and its two terminations are churn."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.contracts.models import Contract
from revrec import reports
from revrec.reports.mrr import KINDS
from revrec.reports.subscriptions import subscription_metrics

pytestmark = pytest.mark.django_db(transaction=True)


def test_mrr_movements_tie_every_month_of_the_demo(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", "--quiet")
    this = reports.period_of(timezone.localdate())
    end = reports.add_months(this, 1)
    for currency in reports.currencies():
        first = reports.period_of(
            min(Contract.objects.filter(currency=currency).values_list("start_date", flat=True))
        )
        report = subscription_metrics(start=first, end=end, currency=currency)
        assert report["ties"]
        previous = Decimal(0)
        for row in report["rows"]:
            moved = sum((row[k] for k in KINDS), Decimal(0))
            assert row["opening_mrr"] + moved == row["closing_mrr"], row["period"]
            assert row["opening_mrr"] == previous, row["period"]
            previous = row["closing_mrr"]
            # The same month read alone gives the same figures.
            alone = subscription_metrics(
                start=row["period"], end=reports.add_months(row["period"], 1), currency=currency
            )
            assert {k: alone["rows"][0][k] for k in (*KINDS, "opening_mrr", "closing_mrr")} == {
                k: row[k] for k in (*KINDS, "opening_mrr", "closing_mrr")
            }
        assert report["closing_mrr"] > 0
    usd = subscription_metrics(start=reports.add_months(this, -1), end=this, currency="USD")
    (last_month,) = usd["rows"]
    assert last_month["expansion"] > 0  # Initech and two seat customers grew
    assert last_month["churn"] < 0  # Wayne and one more customer terminated
