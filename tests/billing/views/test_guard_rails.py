"""Guard rails in forms (issue 16 §7): a contract line starting before its plan is in force is warned
about on the contract page, a plan with metered charges is labelled usage-billed, and the recognition
choices are explained where a product is made."""

from __future__ import annotations

from datetime import date

import pytest

from billing.catalog.forms.products import ProductForm
from tests.billing.factories import ContractFactory

pytestmark = pytest.mark.django_db


def test_a_line_starting_before_its_plan_is_in_force_is_warned_about(finance, catalog):
    early = ContractFactory(
        lines=[{"key": "main", "product": "platform", "plan": "hybrid"}],
        start_date=date(2019, 6, 1),
        end_date=date(2021, 6, 1),
        active=False,
    )
    html = finance.get(f"/contracts/{early.pk}/").content.decode()
    assert 'id="plan-warnings"' in html
    assert "Line main starts on 1 Jun 2019, before plan hybrid is in force" in html
    assert "takes effect on 1 Jan 2020" in html
    assert "usage-billed" in html  # hybrid has a metered charge (api_calls)


def test_a_line_inside_its_plan_and_a_fixed_price_line_are_not_flagged(finance, catalog):
    fine = ContractFactory(
        lines=[
            {"key": "main", "product": "platform", "plan": "hybrid"},
            {"key": "svc", "product": "platform", "unit_price": "10.00"},
        ],
        start_date=date(2026, 1, 1),
        active=False,
    )
    html = finance.get(f"/contracts/{fine.pk}/").content.decode()
    assert 'id="plan-warnings"' not in html
    assert html.count(">usage-billed<") == 1  # the plan line only, not the fixed-price one


def test_recognition_choices_are_explained():
    help_text = str(ProductForm().fields["recognition"].help_text)
    for choice in ("Ratable (daily)", "Ratable (monthly)", "Point in time", "As used", "Milestone"):
        assert choice in help_text
