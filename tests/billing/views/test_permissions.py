"""Roles: every role reads the billing pages; only finance and admin see the action buttons, and any
other role's POST is refused with 403 (issue 5 §7; revops.roles).

The world — Northwind's monthly contract with a finalized April and a draft May invoice — is built
once for the module (``built_once``); each test runs in its own savepoint on top of it."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice
from tests.billing.factories import ContractFactory, ContractLineFactory, InvoiceFactory
from tests.builders import built_once
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BUTTONS = (
    "Finalize selected",
    "Refresh usage",
    ">Finalize…<",
    "Record payment",
    "Void this invoice",
    "Credit note…",
    "Amend…",
    "Terminate contract",
    "Start billing run",
    "Add prepaid credit",
    "New customer",
    "New contract",
)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """10.00 a month from 1 April 2026 for Northwind Traders (tax 10%), April finalized, May a draft."""
    with built_once(django_db_blocker):
        contract = ContractFactory(
            customer=CustomerFactory(
                external_id="northwind", name="Northwind Traders", tax_rate=Decimal("10")
            ),
            lines=[ContractLineFactory(key="svc", product="platform", unit_price="10.00")],
            start_date=date(2026, 4, 1),
            end_date=date(2027, 4, 1),
        )
        final = InvoiceFactory(contract=contract, billing_date=date(2026, 4, 1), finalized=True)
        draft = InvoiceFactory(contract=contract, billing_date=date(2026, 5, 1))
        yield {"contract": contract, "final": final, "draft": draft}


def _pages(world):
    c, f, d = world["contract"], world["final"], world["draft"]
    return [
        "/customers/",
        f"/customers/{c.customer_id}/",
        "/contracts/",
        f"/contracts/{c.pk}/",
        "/billing/runs/",
        "/invoices/",
        "/invoices/?status=all",
        f"/invoices/{f.pk}/",
        f"/invoices/{d.pk}/",
    ]


def test_an_auditor_reads_every_page_without_action_buttons(ui_for, world):
    auditor = ui_for("auditor")
    for url in _pages(world):
        response = auditor.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        for label in BUTTONS:
            assert label not in html, (url, label)
        assert 'name="invoice"' not in html  # no review-queue checkboxes


def test_finance_sees_the_action_buttons(finance, world):
    html = "".join(finance.get(url).content.decode() for url in _pages(world))
    for label in BUTTONS:
        assert label in html, label


def test_an_auditor_gets_403_on_every_write(ui_for, world):
    auditor = ui_for("auditor")
    c, f, d = world["contract"], world["final"], world["draft"]
    posts = [
        ("/customers/new/", {"external_id": "x", "name": "X", "currency": "USD"}),
        (f"/customers/{c.customer_id}/credits/", {"amount": "5", "granted_on": "2026-04-01"}),
        ("/contracts/new/", {}),
        (f"/contracts/{c.pk}/submit/", {}),
        (f"/contracts/{c.pk}/activate/", {}),
        (f"/contracts/{c.pk}/terminate/", {"effective_date": "2026-06-01"}),
        (f"/contracts/{c.pk}/trial/cancel/", {"confirm": "1"}),
        (f"/contracts/{c.pk}/amend/", {"effective_date": "2026-04-16", "price-svc": "20"}),
        (f"/contracts/{c.pk}/amend/preview/", {"effective_date": "2026-04-16", "price-svc": "20"}),
        ("/billing/runs/", {"as_of": "2026-06-01"}),
        ("/invoices/finalize/", {"invoice": [d.pk]}),
        (f"/invoices/{d.pk}/refresh/", {}),
        (f"/invoices/{d.pk}/finalize/", {}),
        (f"/invoices/{f.pk}/void/", {"reason": "x"}),
        (f"/invoices/{f.pk}/payments/", {"amount": "1", "date": "2026-04-02"}),
        (f"/invoices/{f.pk}/credit-note/", {"reason": "x"}),
        (f"/invoices/{f.pk}/payments/1/reverse/", {"reason": "x", "confirm": "1"}),
    ]
    for url, data in posts:
        assert auditor.post(url, data).status_code == 403, url
    for url in ("/customers/new/", "/contracts/new/", f"/contracts/{c.pk}/amend/"):
        assert auditor.get(url).status_code == 403, url
    assert (
        Invoice.objects.get(pk=d.pk).status == "draft" and Invoice.objects.get(pk=f.pk).status == "finalized"
    )


def test_dashboard_widgets_and_navigation(finance, world):
    html = finance.get("/").content.decode()
    assert "Drafts awaiting review" in html and "Open receivables" in html and "Last billing run" in html
    for label, url in (
        ("Customers", "/customers/"),
        ("Contracts", "/contracts/"),
        ("Billing runs", "/billing/runs/"),
        ("Invoices", "/invoices/"),
    ):
        assert f'href="{url}"' in html and label in html


def test_receivables_card_heads_with_the_house_currency_not_the_biggest_number(finance, world):
    """65,000 JPY is not more than 11.00 USD: amounts in different currencies do not compare, so the
    card's headline is the house currency and the others follow."""
    yen = CustomerFactory(external_id="tokyo", name="Tokyo KK", currency="JPY")
    contract = ContractFactory(
        customer=yen,
        lines=[ContractLineFactory(key="svc", product="platform", unit_price="65000")],
        start_date=date(2026, 4, 1),
    )
    InvoiceFactory(contract=contract, billing_date=date(2026, 4, 1), finalized=True)
    html = finance.get("/").content.decode()
    card = html.split("Open receivables", 1)[1].split("</a>", 1)[0]
    assert card.index("11.00 USD") < card.index("65,000 JPY"), card
    assert "2 open invoices" in card
