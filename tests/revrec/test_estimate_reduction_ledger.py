"""A downward re-estimate on a contract never invoiced (reviewer finding F7, accounting.md §6): the
negative catch-up reverses the contract asset it built — Dr 4000 Revenue / Cr 1200 Unbilled receivables
up to the obligation's unbilled balance — and only an excess would become a contract liability (2100)."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from revrec.models import JournalLine
from tests.revrec.test_variable_consideration import _line, _months, world  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _balance(contract_id, role: str, period: str | None = None) -> Decimal:
    lines = JournalLine.objects.filter(entry__contract_id=contract_id, account__role=role)
    if period:
        lines = lines.filter(entry__period=period)
    totals = lines.aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or 0) - (totals["c"] or 0)


def test_downward_re_estimate_never_invoiced_reduces_unbilled_not_deferred(world):  # noqa: F811
    contract = world.contract(
        [
            _line(
                "y",
                "500.00",
                "700",
                "2026-08-03",
                variable_method="most_likely_amount",
                variable_estimate="200.00",
                variable_constrained="200.00",
            )
        ],
        "2026-07-01",
        "2027-07-01",
    )
    world.run(*_months("2026-07", "2026-08"))  # delivered in August, never invoiced: all unbilled
    assert _balance(contract["id"], "unbilled") == Decimal("700.00")
    world.estimate(
        contract,
        line="y",
        method="most_likely_amount",
        estimate="100.00",
        constrained="100.00",
        as_of="2026-09-15",
    )
    world.run("2026-09")
    assert _balance(contract["id"], "unbilled", "2026-09") == Decimal("-100.00")  # Cr 1200
    assert _balance(contract["id"], "deferred", "2026-09") == 0  # nothing on 2100
    assert -_balance(contract["id"], "revenue", "2026-09") - _balance(
        contract["id"], "revenue_sub", "2026-09"
    ) == Decimal("-100.00")  # Dr 4000
    assert _balance(contract["id"], "unbilled") == Decimal("600.00")
    assert _balance(contract["id"], "deferred") == 0
