"""A customer's currency is fixed once anything is booked or waits in it (review16 §1): a credit grant,
a pending credit request, usage, a contract (and so its invoices and postings). The API answers 409
problem+json naming the field, the edit form a form error on the currency; nothing changes."""

from datetime import date
from decimal import Decimal

import pytest

from billing.invoicing.credits import credit_grant_request
from revops.parties.models import Customer
from tests.billing.factories import MeterFactory
from tests.builders import approved_credit_grant, day, send_events
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _granted(customer):
    approved_credit_grant(customer=customer, amount=Decimal("100.00"), granted_on=date(2026, 1, 1))


def _requested(customer):
    credit_grant_request(
        customer=customer, amount=Decimal("50.00"), granted_on=date(2026, 1, 1), payment_reference="R-1"
    )


def _metered(customer):
    MeterFactory(code="tokens")
    send_events(
        customer, [{"code": "tokens", "timestamp": day(date(2026, 1, 5)), "properties": {"value": 3}}]
    )


USES = {"credit grants": _granted, "a pending credit request": _requested, "usage": _metered}


@pytest.mark.parametrize("use", sorted(USES))
def test_the_api_refuses_a_currency_change_once_the_customer_uses_it(api_for, use):
    customer = CustomerFactory(external_id="acme", name="Acme", currency="USD")
    USES[use](customer)
    response = api_for("finance").patch(
        f"/api/v1/customers/{customer.pk}", {"currency": "EUR"}, format="json"
    )
    assert response.status_code == 409, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["errors"] == [{"field": "currency", "message": body["detail"]}]
    assert use in body["detail"] and "USD" in body["detail"]
    assert Customer.objects.get(pk=customer.pk).currency == "USD"


def test_the_edit_form_refuses_a_currency_change_after_a_grant(ui_for):
    customer = CustomerFactory(external_id="acme", name="Acme", currency="USD")
    _granted(customer)
    finance = ui_for("finance")
    assert (
        "Fixed: the customer has credit grants"
        in finance.get(f"/customers/{customer.pk}/edit/").content.decode()
    )
    response = finance.post(
        f"/customers/{customer.pk}/edit/", {"name": "Acme", "currency": "EUR", "timezone": "UTC"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Cannot change: the customer has credit grants in this currency." in page
    assert Customer.objects.get(pk=customer.pk).currency == "USD"


def test_a_customer_with_nothing_booked_may_change_currency(api_for):
    customer = CustomerFactory(external_id="acme", name="Acme", currency="USD")
    response = api_for("finance").patch(
        f"/api/v1/customers/{customer.pk}", {"currency": "EUR"}, format="json"
    )
    assert response.status_code == 200 and Customer.objects.get(pk=customer.pk).currency == "EUR"
