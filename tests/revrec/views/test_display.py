"""Amounts on the revenue pages: the currency's minor unit, thousands separators, a real minus sign —
and never a minus on an amount that shows as zero."""

from decimal import Decimal

import pytest

from revrec.views.display import fmt_amount


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (Decimal("1234.5"), "USD", "1,234.50"),
        (Decimal("-1234.5"), "USD", "−1,234.50"),
        (Decimal("65000"), "JPY", "65,000"),
        (Decimal("-0.004"), "USD", "0.00"),
        (Decimal("-0.0000000001"), "USD", "0.00"),
        (Decimal("-0.005"), "USD", "−0.01"),
        (Decimal("-0.4"), "JPY", "0"),
        (None, "USD", "0.00"),
    ],
)
def test_fmt_amount(value, currency, shown):
    assert fmt_amount(value, currency) == shown
