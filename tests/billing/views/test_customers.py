"""Customer pages: list with search and open balance, the new-customer form, the customer page and
prepaid credits (issue 5 §7)."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import CreditGrant
from revops.parties.models import Customer
from tests.billing.views.conftest import build, finalize
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_list_searches_and_shows_contracts_and_open_balance(finance, monthly):
    CustomerFactory(external_id="globex", name="Globex Corporation")
    finalize(build(monthly, date(2026, 4, 1)))  # 10.00 + 10% tax, unpaid
    html = finance.get("/customers/").content.decode()
    assert "Northwind Traders" in html and "Globex Corporation" in html
    assert "11.00 USD" in html  # open receivables of the finalized invoice
    found = finance.get("/customers/?q=glob", HTTP_HX_REQUEST="true").content.decode()
    assert "Globex Corporation" in found and "Northwind Traders" not in found
    assert "<html" not in found  # the HTMX partial only


def test_new_customer_form_creates_the_customer(finance):
    response = finance.post(
        "/customers/new/",
        {
            "external_id": "initrode",
            "name": "Initrode",
            "currency": "eur",
            "timezone": "Europe/Paris",
            "tax_rate": "20",
            "email": "ap@initrode.example",
        },
    )
    customer = Customer.objects.get(external_id="initrode")
    assert response.status_code == 302 and response.url == f"/customers/{customer.pk}/"
    assert (customer.currency, customer.timezone, customer.tax_rate) == ("EUR", "Europe/Paris", Decimal(20))


def test_new_customer_form_shows_the_services_errors_on_their_fields(finance):
    CustomerFactory(external_id="acme")
    response = finance.post(
        "/customers/new/",
        {"external_id": "acme", "name": "Acme 2", "currency": "USD", "timezone": "Mars/Base"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "already exists" in html and "Unknown IANA time zone" in html
    assert 'value="Acme 2"' in html  # what was typed is kept
    assert Customer.objects.filter(external_id="acme").count() == 1


def test_customer_page_shows_facts_balance_contracts_invoices_and_usage(finance, monthly):
    invoice = finalize(build(monthly, date(2026, 4, 1)))
    html = finance.get(f"/customers/{monthly.customer_id}/").content.decode()
    assert "northwind" in html and "Open receivables" in html and "11.00 USD" in html
    assert monthly.number in html and invoice.number in html
    assert "Usage in" in html and "/usage/?customer=northwind" in html
    assert "Add prepaid credit" in html


def test_adding_prepaid_credit_requests_it_and_an_approver_grants_it(finance, monthly, client, make_user):
    from revops.core.approvals.models import Approval

    response = finance.post(
        f"/customers/{monthly.customer_id}/credits/",
        {
            "amount": "250.00",
            "granted_on": "2026-04-01",
            "expires_on": "2027-04-01",
            "reason": "Prepaid commit",
            "payment_reference": "WIRE-250",
        },
    )
    assert response.status_code == 302
    assert not CreditGrant.objects.exists()
    client.force_login(make_user("checker", "approver"))
    client.post(
        "/approvals/", {"ids": [Approval.objects.get(kind="purchased_credit").pk], "action": "approve"}
    )
    grant = CreditGrant.objects.get(customer_id=monthly.customer_id)
    assert (grant.amount, grant.currency, grant.reason) == (Decimal("250.00"), "USD", "Prepaid commit")
    html = finance.get(f"/customers/{monthly.customer_id}/").content.decode()
    assert "250.00 USD" in html and "Prepaid commit" in html


def test_a_refused_credit_grant_is_a_form_error_not_a_500(finance, monthly):
    response = finance.post(
        f"/customers/{monthly.customer_id}/credits/", {"amount": "-5", "granted_on": "2026-04-01"}
    )
    assert response.status_code == 400
    assert "A credit grant must be positive." in response.content.decode()
    assert not CreditGrant.objects.exists()


def test_the_credits_table_shows_what_expired_unused(finance, monthly):
    from django.db import transaction

    from billing.invoicing.credits import credits_expire
    from tests.builders import approved_credit_grant

    with transaction.atomic():
        approved_credit_grant(
            customer=monthly.customer,
            amount=Decimal("80.00"),
            granted_on=date(2026, 1, 1),
            expires_on=date(2026, 2, 1),
            reason="Trial credit",
        )
    credits_expire(on=date(2026, 2, 1))
    html = finance.get(f"/customers/{monthly.customer_id}/").content.decode()
    row = html.split("Trial credit", 1)[1].split("</tr>", 1)[0]
    assert "80.00" in row and "expired" in html
    assert row.rstrip().endswith('<td class="num nowrap"><strong>0.00 USD</strong></td>'), row
