"""Ramp deals in the contract editor and on the contract page (issue 17 §5): step rows entered with
the lines, their errors on the step row at fault, the steps shown with each step's billing, and a
draft's steps in its editor again."""

import re
from decimal import Decimal

import pytest

from billing.contracts.models import Contract
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

D = Decimal


def _form(customer, lines, steps) -> dict:
    data = {
        "customer": customer,
        "currency": "",
        "start_date": "2026-01-01",
        "end_date": "2027-01-01",
        "billing_anchor": "calendar",
    }
    for column in (
        "key",
        "product",
        "plan",
        "billing",
        "quantity",
        "unit_price",
        "amount",
        "service_start",
        "service_end",
    ):
        data[f"line-{column}"] = [row.get(column, "") for row in lines]
    for column in ("line", "from", "unit_price", "amount"):
        data[f"step-{column}"] = [row.get(column, "") for row in steps]
    return data


def test_the_contract_editor_takes_ramp_steps_and_puts_their_errors_on_their_rows(ui_for, catalog):
    CustomerFactory(external_id="acme")
    finance = ui_for("finance")
    html = finance.get("/contracts/new/").content.decode()
    assert "Ramp steps" in html and "+ Add ramp step" in html
    row = finance.get("/contracts/_step-row/", HTTP_HX_REQUEST="true").content.decode()
    assert row.strip().startswith("<tr") and 'name="step-from"' in row and "<html" not in row

    lines = [{"key": "platform", "product": "platform", "plan": "hybrid", "quantity": "1"}]
    bad = [
        {"line": "platform", "from": "2026-01-01", "unit_price": "90"},
        {"line": "platform", "from": "2026-12-15", "unit_price": "abc"},
        {"line": "nope", "from": "2026-03-01", "unit_price": "1"},
    ]
    response = finance.post("/contracts/new/", _form("acme", lines, bad))
    assert response.status_code == 400
    page = response.content.decode()
    rows = re.findall(r'<tr class="bu-row[^"]*" id="step-.*?</tr>', page, flags=re.S)
    assert len(rows) == 3
    assert "aria-invalid" not in rows[0]
    assert "Name the key of one of the lines above." in rows[2]
    assert 'value="abc"' in rows[1]
    assert not Contract.objects.exists()

    good = [
        {"line": "platform", "from": "2026-01-01", "unit_price": "90"},
        {"line": "platform", "from": "2026-07-01", "amount": "120.00"},
    ]
    response = finance.post("/contracts/new/", _form("acme", lines, good))
    assert response.status_code == 302, response.content.decode()[:2000]
    contract = Contract.objects.get()
    assert contract.lines.get().ramp == [
        {"from": "2026-01-01", "unit_price": "90"},
        {"from": "2026-07-01", "amount": "120.00"},
    ]
    assert contract.transaction_price == D("1260.00")
    detail = finance.get(f"/contracts/{contract.pk}/").content.decode()
    assert "ramp" in detail and "from 1 Jul 2026: 120.00 USD per period" in detail
    # The editor of the draft shows its steps again.
    edit = finance.get(f"/contracts/{contract.pk}/edit/").content.decode()
    assert 'name="step-from" value="2026-07-01"' in edit
