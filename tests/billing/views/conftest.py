"""Billing UI fixtures: the pages' URLs and navigation wired in for these tests only, PDFs under a
temporary media root, and small builders (contracts and invoices made through the real services)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billing.invoicing.build import invoice_build
from billing.invoicing.lifecycle import invoice_finalize
from tests.billing.factories import ContractFactory
from tests.builders import NOW
from tests.revops.factories import CustomerFactory


@pytest.fixture(autouse=True)
def billing_ui(settings, tmp_path):
    """Mount the pages and register their navigation, widgets and seeder (what billing/urls.py and
    billing/apps.py do once wired), restoring the registries afterwards."""
    from billing.invoicing import registrations
    from revops import navigation
    from revops.core import dashboard, demo

    settings.ROOT_URLCONF = "tests.billing.views.urls"
    settings.MEDIA_ROOT = tmp_path / "media"
    saved = (list(navigation.NAV), list(dashboard._PROVIDERS), list(demo._SEEDERS))
    registrations.register()
    yield
    navigation.NAV[:], dashboard._PROVIDERS[:], demo._SEEDERS[:] = saved


@pytest.fixture
def finance(ui_for):
    return ui_for("finance")


def build(contract, on: date):
    with transaction.atomic():
        return invoice_build(contract_id=contract.pk, billing_date=on, now=NOW)


def finalize(invoice):
    with transaction.atomic():
        return invoice_finalize(invoice=invoice, now=NOW)


@pytest.fixture
def monthly(catalog):
    """10.00 a month from 1 April 2026 (a 30-day month), for Northwind Traders."""
    customer = CustomerFactory(external_id="northwind", name="Northwind Traders", tax_rate=Decimal("10"))
    return ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
        start_date=date(2026, 4, 1),
        end_date=date(2027, 4, 1),
        customer=customer,
    )
