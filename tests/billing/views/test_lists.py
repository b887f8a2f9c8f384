"""Lists a finance team can work with (issue 16 §5): sortable columns, the billing-period and overdue
filters kept in the URL, and CSV exports equal to the list they were asked from."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from billing.invoicing.filters import InvoiceFilter
from billing.models import Invoice
from tests.billing.factories import ContractFactory
from tests.billing.views.conftest import build, finalize
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def book(catalog):
    """Three customers: April invoices (Alpha 10.00 and Gamma 30.00 finalized, overdue by now), a May
    draft of Beta (20.00), and a customer whose name is a spreadsheet formula."""
    out = {}
    for key, name, price in (
        ("alpha", "Alpha Ltd", "10.00"),
        ("beta", "Beta Ltd", "20.00"),
        ("gamma", "=Gamma", "30.00"),
    ):
        customer = CustomerFactory(external_id=key, name=name)
        contract = ContractFactory(
            lines=[{"key": "svc", "product": "platform", "unit_price": price}],
            start_date=date(2026, 4, 1),
            customer=customer,
        )
        if key == "beta":
            out[key] = build(contract, date(2026, 5, 1))
        else:
            out[key] = finalize(build(contract, date(2026, 4, 1)))
    # finalized "at" NOW (2030) by the builders: due a month after April 2026 instead, overdue today
    Invoice.objects.filter(status="finalized").update(due_date=date(2026, 5, 1))
    return {key: Invoice.objects.get(pk=inv.pk) for key, inv in out.items()}


def _shown_numbers(html: str, invoices) -> list[str]:
    labels = {inv.reference: html.find(inv.reference) for inv in invoices}
    return [label for label, at in sorted(labels.items(), key=lambda item: item[1]) if at >= 0]


def test_columns_sort_by_whitelisted_keys_both_ways(finance, book):
    alpha, gamma = book["alpha"], book["gamma"]
    html = finance.get("/invoices/?status=finalized&sort=total").content.decode()
    assert _shown_numbers(html, [alpha, gamma]) == [alpha.number, gamma.number]
    assert 'aria-sort="ascending"' in html and "sort=-total" in html
    html = finance.get("/invoices/?status=finalized&sort=-total").content.decode()
    assert _shown_numbers(html, [alpha, gamma]) == [gamma.number, alpha.number]
    # an unknown key is the default order (newest first), never an error or an arbitrary field
    response = finance.get("/invoices/?status=finalized&sort=customer__user__password")
    assert response.status_code == 200


def test_billing_period_is_a_month_and_overdue_a_filter(finance, book):
    html = finance.get("/invoices/?status=all&billing_period=2026-05").content.decode()
    assert 'type="month"' in html and 'value="2026-05"' in html
    assert book["beta"].draft_reference in html and book["alpha"].number not in html
    html = finance.get("/invoices/?status=all&overdue=true").content.decode()
    assert book["alpha"].number in html and book["gamma"].number in html
    assert book["beta"].draft_reference not in html
    bad = finance.get("/invoices/?status=all&billing_period=2026-13").content.decode()
    assert "not an accounting period" in bad


def test_invoice_csv_is_the_filtered_list_in_its_order_with_exact_amounts(finance, book):
    url = "/invoices/?status=all&overdue=true&sort=-total"
    html = finance.get(url).content.decode()
    assert 'href="/invoices/?status=all&amp;overdue=true&amp;sort=-total&amp;format=csv"' in html
    rows = _csv(finance.get(url + "&format=csv"))
    listed = InvoiceFilter({"overdue": "true"}, queryset=Invoice.objects.all()).qs.order_by("-total", "-id")
    assert (
        [r["number"] for r in rows]
        == [inv.number for inv in listed]
        == [
            book["gamma"].number,
            book["alpha"].number,
        ]
    )
    assert rows[0]["total"] == str(book["gamma"].total) and Decimal(rows[0]["total"]) == book["gamma"].total
    assert rows[0]["customer"] == "'=Gamma"  # formula injection neutralized
    assert rows[0]["overdue"] == "yes" and rows[0]["balance_due"] == rows[0]["total"]


def test_customer_list_sorts_and_exports_what_it_shows(finance, book):
    html = finance.get("/customers/?sort=-name").content.decode()
    assert html.index("Beta Ltd") < html.index("Alpha Ltd")
    rows = _csv(finance.get("/customers/?q=ltd&sort=-name&format=csv"))
    assert [r["external_id"] for r in rows] == ["beta", "alpha"]
    assert rows[1]["open_balance"] != "" and Decimal(rows[1]["open_balance"]) == book["alpha"].total
