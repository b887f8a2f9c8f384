"""Contract pages: the editor (rows, errors on the right row), lifecycle buttons, the contract page
and the amendment form with its proration preview (issue 5 §7)."""

import re
from datetime import date
from decimal import Decimal

import pytest

from billing.contracts.models import Contract, ContractLine, ContractVersion
from billing.models import PendingCharge
from tests.billing.factories import ContractFactory
from tests.billing.views.conftest import build
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _contract_post(customer, rows, **header):
    data = {
        "customer": customer.external_id,
        "currency": "",
        "start_date": "2026-05-01",
        "end_date": "2027-05-01",
        "billing_anchor": "calendar",
        **header,
    }
    columns = (
        "key",
        "product",
        "plan",
        "billing",
        "quantity",
        "unit_price",
        "amount",
        "service_start",
        "service_end",
    )
    for column in columns:
        data[f"line-{column}"] = [row.get(column, "") for row in rows]
    return data


ROWS = [
    {"key": "seats", "product": "seats", "plan": "hybrid", "quantity": "10"},
    {
        "key": "onboarding",
        "product": "onboarding",
        "billing": "one_time",
        "quantity": "1",
        "amount": "1500.00",
    },
    {"key": "api", "product": "api", "billing": "usage", "quantity": "1"},  # no plan: refused
]


def _rows_html(html: str) -> list[str]:
    return re.findall(r'<tr class="bu-row[^"]*".*?</tr>', html, flags=re.S)


def test_new_contract_form_renders_a_row_and_the_add_line_partial(finance, catalog):
    CustomerFactory(external_id="acme", name="Acme")
    html = finance.get("/contracts/new/?customer=acme").content.decode()
    assert "End date (exclusive)" in html and "+ Add line" in html
    assert '<option value="acme" selected>' in html
    row = finance.get("/contracts/_line-row/", HTTP_HX_REQUEST="true").content.decode()
    assert row.strip().startswith("<tr") and 'name="line-key"' in row and "<html" not in row


def test_creating_a_contract_through_the_form(finance, catalog):
    customer = CustomerFactory(external_id="acme")
    rows = [
        *ROWS[:2],
        {"key": "api", "product": "api", "plan": "hybrid", "billing": "usage", "quantity": "1"},
    ]
    blank = {"key": "", "product": "", "quantity": "1"}  # an untouched row is ignored
    response = finance.post("/contracts/new/", _contract_post(customer, [*rows, blank]))
    contract = Contract.objects.get(customer=customer)
    assert response.status_code == 302 and response.url == f"/contracts/{contract.pk}/"
    assert contract.status == "draft" and contract.currency == "USD"  # the customer's currency
    assert [ln.key for ln in contract.lines.order_by("position")] == ["seats", "onboarding", "api"]
    assert contract.lines.get(key="onboarding").amount == Decimal("1500.00")


def test_a_line_error_lands_on_its_row_and_every_typed_value_is_kept(finance, catalog):
    customer = CustomerFactory(external_id="acme")
    response = finance.post("/contracts/new/", _contract_post(customer, ROWS, notes="Signed in March"))
    html = response.content.decode()
    assert response.status_code == 400
    rows = _rows_html(html)
    assert len(rows) == 3
    assert "A usage line needs a plan" in rows[2]  # lines[2].plan → the third row
    assert 'name="line-plan" aria-label="Plan (optional)" aria-invalid="true"' in rows[2]
    assert "aria-invalid" not in rows[0] and "aria-invalid" not in rows[1]
    assert (
        'value="seats"' in rows[0]
        and 'value="10"' in rows[0]
        and '<option value="hybrid" selected>' in rows[0]
    )
    assert 'value="1500.00"' in rows[1] and '<option value="one_time" selected>' in rows[1]
    assert "Signed in March" in html
    assert not Contract.objects.filter(customer=customer).exists()


def test_contract_page_shows_lifecycle_lines_versions_and_invoices(finance, monthly):
    invoice = build(monthly, date(2026, 4, 1))
    html = finance.get(f"/contracts/{monthly.pk}/").content.decode()
    assert "Active" in html and "Transaction price" in html and "120.00 USD" in html
    assert "Version history" in html and "Contract created" in html
    assert invoice.draft_reference in html and "Amend…" in html and "Terminate contract" in html


def test_submit_activate_and_terminate_buttons_call_the_services(finance, catalog, settings):
    settings.PRICE_OVERRIDE_CUSTOM_APPROVAL = True  # as in production: its custom-priced line waits
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], active=False
    )
    assert finance.post(f"/contracts/{contract.pk}/submit/").status_code == 302
    assert Contract.objects.get(pk=contract.pk).status == "pending_approval"
    asked = finance.post(f"/contracts/{contract.pk}/activate/").content.decode()
    assert "Activation cannot be undone" in asked
    assert Contract.objects.get(pk=contract.pk).status == "pending_approval"
    finance.post(
        f"/contracts/{contract.pk}/activate/", {"confirm": "1"}
    )  # a custom price (no plan): held for an approver
    from revops.core.approvals.models import Approval
    from tests.revops.factories import approve

    approve(Approval.objects.get(kind="price_override", status="pending"))
    assert Contract.objects.get(pk=contract.pk).status == "active"
    asked = finance.post(f"/contracts/{contract.pk}/terminate/", {"effective_date": "2026-07-01"})
    assert "Termination cannot be undone" in asked.content.decode() and "1 Jul 2026" in asked.content.decode()
    assert Contract.objects.get(pk=contract.pk).status == "active"
    finance.post(f"/contracts/{contract.pk}/terminate/", {"effective_date": "2026-07-01", "confirm": "1"})
    contract.refresh_from_db()
    assert (contract.status, contract.terminated_on, contract.version) == ("terminated", date(2026, 7, 1), 2)
    again = finance.post(f"/contracts/{contract.pk}/activate/", {"confirm": "1"}, follow=True)
    assert again.status_code == 200 and "cannot activate" in again.content.decode()  # a flash, not a 500


def test_amendment_preview_golden_upgrade_halfway_and_saves_nothing(finance, monthly):
    build(monthly, date(2026, 4, 1))  # April billed in advance: 10.00
    response = finance.post(
        f"/contracts/{monthly.pk}/amend/preview/",
        {"effective_date": "2026-04-16", "q-svc": "", "price-svc": "20.00"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "-5.00 USD" in html  # credit for the unused half of 10.00
    assert "10.00 USD" in html and "15/30 days" in html  # half of the new 20.00
    assert re.search(r"Net on the next invoice</td><td[^>]*>5\.00 USD", html)
    assert "120.00 USD" in html and "→" in html  # transaction price from → to
    monthly.refresh_from_db()
    assert monthly.version == 1 and ContractLine.objects.filter(contract=monthly).count() == 1
    assert (
        not PendingCharge.objects.exists() and ContractVersion.objects.filter(contract=monthly).count() == 1
    )


def test_amendment_preview_explains_what_the_service_refuses(finance, monthly):
    html = finance.post(
        f"/contracts/{monthly.pk}/amend/preview/", {"effective_date": "2026-04-16", "q-svc": "-3"}
    ).content.decode()
    assert "cannot be applied" in html and "svc: Must be at least 0." in html


def test_applying_the_amendment_creates_version_2(finance, monthly):
    build(monthly, date(2026, 4, 1))
    page = finance.get(f"/contracts/{monthly.pk}/amend/").content.decode()
    assert "Proration preview" in page and 'name="price-svc"' in page
    response = finance.post(
        f"/contracts/{monthly.pk}/amend/", {"effective_date": "2026-04-16", "price-svc": "20.00"}
    )
    assert response.status_code == 302
    monthly.refresh_from_db()
    assert monthly.version == 2
    version = ContractVersion.objects.get(contract=monthly, version=2)
    assert version.kind == "amendment" and version.created_by is not None
    new = ContractLine.objects.get(contract=monthly, key="svc", revision=2)
    assert new.unit_price == Decimal("20.00") and new.service_start == date(2026, 4, 16)
    html = finance.get(f"/contracts/{monthly.pk}/").content.decode()
    assert "superseded" in html and "unit price → 20" in html


def test_an_amendment_error_lands_on_its_line_and_saves_nothing(finance, monthly):
    response = finance.post(
        f"/contracts/{monthly.pk}/amend/", {"effective_date": "2026-04-16", "q-svc": "-1"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'name="q-svc" value="-1"' in html and "Must be at least 0." in html
    monthly.refresh_from_db()
    assert monthly.version == 1


def test_amendment_page_extends_the_term_and_a_line_and_replaces_a_one_time_amount(finance, catalog):
    """Issue 13 points 3 and 6 in the UI: the amend page extends the contract term and a line's service
    end, and a one-time line's new amount replaces its price (counted once)."""
    customer = CustomerFactory(external_id="fabrikam", name="Fabrikam")
    contract = ContractFactory(
        lines=[
            {"key": "svc", "product": "platform", "unit_price": "10.00"},
            {"key": "seats", "product": "seats", "unit_price": "1.00", "service_end": "2026-10-01"},
            {"key": "setup", "product": "onboarding", "billing": "one_time", "amount": "500.00"},
        ],
        start_date=date(2026, 4, 1),
        end_date=date(2027, 4, 1),
        customer=customer,
    )
    page = finance.get(f"/contracts/{contract.pk}/amend/").content.decode()
    assert 'name="end_date"' in page and 'name="end-seats"' in page and 'name="amount-setup"' in page
    assert 'name="amount-svc"' not in page  # only one-time lines have an amount to replace
    response = finance.post(
        f"/contracts/{contract.pk}/amend/",
        {
            "effective_date": "2026-06-01",
            "end_date": "2027-10-01",
            "end-seats": "2027-04-01",
            "amount-setup": "800.00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    contract.refresh_from_db()
    assert contract.end_date == date(2027, 10, 1) and contract.version == 2
    # svc 18 months × 10 = 180, seats 12 months × 1 = 12, setup 800 (not 500 + 800).
    assert contract.transaction_price == Decimal("992.00")
    seats = ContractLine.objects.get(contract=contract, key="seats", revision=2)
    assert seats.service_end == date(2027, 4, 1)
