"""The subscription metrics' contracts (fixtures only, not a test module): made and changed through the
services, described in tests/revrec/reports/test_subscription_metrics.py, shared with the browser test."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from billing.contracts.services import contract_terminate
from billing.invoicing.coupons import coupon_apply, coupon_request
from billing.models import Coupon
from tests.billing.factories import ContractFactory, PlanFactory, settle
from tests.builders import amend_approved
from tests.revops.factories import CustomerFactory, approve


def _line(price, key="svc", **extra):
    return {"key": key, "product": "platform", "unit_price": price, "billing": "recurring", **extra}


def _contract(customer, start, end, lines, currency="USD"):
    return ContractFactory(customer=customer, currency=currency, start_date=start, end_date=end, lines=lines)


def _coupon(code, **terms):
    with settle(), transaction.atomic():
        approve(coupon_request(code=code, changes={"name": code, "kind": "percent", **terms}))
    return Coupon.objects.get(code=code)


def build() -> dict:
    y = date(2027, 1, 1)
    expand = _contract(CustomerFactory(name="Expand"), date(2026, 1, 1), y, [_line("200.00")])
    with settle(), transaction.atomic():
        amend_approved(
            contract=expand, effective_date=date(2026, 3, 15), changes=[{"line": "svc", "quantity": "2"}]
        )
    shrink = CustomerFactory(name="Contract")
    _contract(shrink, date(2026, 1, 1), y, [_line("300.00")])
    second = _contract(shrink, date(2026, 1, 1), y, [_line("50.00")])
    churn = _contract(CustomerFactory(name="Churn"), date(2026, 1, 1), y, [_line("80.00")])
    for contract, day in ((second, date(2026, 3, 10)), (churn, date(2026, 3, 20))):
        with settle(), transaction.atomic():
            contract_terminate(contract=contract, effective_date=day)
    react = CustomerFactory(name="React")
    _contract(react, date(2026, 1, 1), date(2026, 3, 1), [_line("60.00")])
    _contract(react, date(2026, 5, 1), date(2027, 5, 1), [_line("70.00")])
    PlanFactory(
        code="annual",
        interval="year",
        charges=[
            {
                "code": "licence",
                "product": "platform",
                "model": "flat",
                "timing": "in_advance",
                "properties": {"amount": "1000.00"},
            }
        ],
    )
    _contract(
        CustomerFactory(name="Annual"),
        date(2026, 1, 1),
        y,
        [{"key": "licence", "product": "platform", "plan": "annual"}],
    )
    coupons = _contract(CustomerFactory(name="Coupon"), date(2026, 1, 1), y, [_line("150.00")])
    with settle(), transaction.atomic():
        coupon_apply(
            coupon=_coupon("half", value="50", duration="repeating", duration_periods=3),
            contract=coupons,
            applied_from=date(2026, 1, 1),
        )
        coupon_apply(
            coupon=_coupon("ten-off", value="10", duration="forever"),
            contract=coupons,
            applied_from=date(2026, 4, 1),
        )
    _contract(
        CustomerFactory(name="New"),
        date(2026, 2, 1),
        date(2027, 2, 1),
        [
            _line("100.00"),
            {"key": "setup", "product": "onboarding", "amount": "500.00", "billing": "one_time"},
        ],
    )
    _contract(CustomerFactory(name="Euro", currency="EUR"), date(2026, 1, 1), y, [_line("999.00")], "EUR")
    return {}
