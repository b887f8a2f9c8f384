"""Edit what may be edited, in a real browser (issue 16 §6): a finance user edits a customer and a
draft contract (each change in the history), a pricing admin opens a product and a meter, renames
the meter and is told — on the form — that how a priced meter counts cannot change."""

from datetime import date

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _draft():
    from django.db import transaction

    from billing.catalog.services import plan_create
    from billing.contracts.services import contract_create
    from revops.parties.services.customers import customer_create

    with transaction.atomic():
        customer_create(external_id="acme", name="Acme", currency="USD")
        plan_create(
            code="tokens-payg",
            name="Tokens pay-as-you-go",
            currency="USD",
            interval="month",
            effective_from=date(2026, 11, 1),
            charges=[
                {
                    "code": "tokens",
                    "product": "tokens",
                    "meter": "llm_tokens",
                    "model": "standard",
                    "properties": {"unit_amount": "0.002"},
                }
            ],
        )
        return contract_create(
            customer="acme",
            currency="USD",
            start_date=date(2026, 4, 1),
            end_date=date(2027, 4, 1),
            lines=[{"key": "svc", "product": "platform", "unit_price": "100.00"}],
        )


def test_finance_edits_a_customer_and_a_draft_contract(login, shot):
    from playwright.sync_api import expect

    contract = _draft()
    page = login("finance")
    page.goto("/customers/")
    page.get_by_role("link", name="Acme").click()
    page.locator("#edit-customer").click()
    page.fill("#id_name", "Acme Europe GmbH")
    page.fill("#id_tax_rate", "19")
    shot("customer edit form", keep="customer-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Customer Acme Europe GmbH (acme) saved")
    page.locator("#edit-customer").click()
    expect(page.locator("#history")).to_contain_text("Acme Europe GmbH")

    page.goto(f"/contracts/{contract.pk}/")
    page.locator("#edit-contract").click()
    page.locator("input[name=line-quantity]").first.fill("3")
    page.fill("#id_notes", "three seats, signed 28 April")
    shot("draft contract edit")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("main")).to_contain_text(
        f"Draft contract {contract.number} for Acme Europe GmbH saved"
    )
    expect(page.locator("main")).to_contain_text("3,600.00 USD")
    expect(page.locator("main")).to_contain_text("version 2")


def test_pricing_opens_products_and_meters_and_is_told_what_is_locked(login, shot):
    from playwright.sync_api import expect

    _draft()
    page = login("pricing")
    page.goto("/pricing/catalog/")
    page.get_by_role("link", name="llm_tokens").click()
    expect(page.locator("main")).to_contain_text("how it counts is locked")
    page.select_option("#id_aggregation", "max")
    page.get_by_role("button", name="Save meter").click()
    expect(page.locator(".form-error")).to_contain_text("cannot change")
    shot("meter change refused")
    page.select_option("#id_aggregation", "sum")
    page.fill("#id_name", "LLM tokens (all models)")
    page.get_by_role("button", name="Save meter").click()
    expect(page.get_by_role("status")).to_contain_text("Meter llm_tokens (LLM tokens (all models)) saved")
    expect(page.locator("#history")).to_contain_text("LLM tokens (all models)")
    page.goto("/pricing/catalog/")
    page.get_by_role("link", name="platform").first.click()
    expect(page.locator("main")).to_contain_text("Nothing is posted to it yet")
    shot("product page")


def test_the_simulator_answers_what_a_quantity_costs(login, shot):
    from playwright.sync_api import expect

    _draft()
    page = login("pricing")
    page.goto("/pricing/simulator/?plan=tokens-payg")
    page.fill("#quote-quantity", "1,500,000")
    expect(page.locator("#quote-amount")).to_have_text("3,000.00 USD")  # 1.5 M tokens × 0.002
    expect(page.locator("#sim-quote")).to_contain_text("per unit on average")
    shot("quantity quote")
    page.fill("#quote-quantity", "many")
    expect(page.locator("#quote-error")).to_contain_text("is not a number")


def test_finance_proposes_an_ssp_and_an_approver_signs_it_off(login, shot):
    from playwright.sync_api import expect

    from revrec.models import SSPEntry

    page = login("finance")
    page.goto("/revenue/ssp/")
    page.locator("#propose-ssp").click()
    page.select_option("#id_product", "platform")
    page.fill("#id_ssp", "1200.50")
    page.fill("#id_evidence", "Q1 standalone renewals")
    shot("ssp proposal")
    page.get_by_role("button", name="Propose for approval").click()
    expect(page.get_by_role("status")).to_contain_text("applies once an approver other than you approves it")
    expect(page.locator("main")).to_contain_text("Pending approval")
    entry = SSPEntry.objects.get(product__code="platform")
    approver = login("approver")
    approver.goto("/approvals/")
    row = approver.locator("tr", has_text="SSP platform")
    row.get_by_role("button", name="Approve").click()
    expect(approver.get_by_role("status")).to_contain_text("Approved")
    entry.refresh_from_db()
    assert entry.status == "approved"


def test_the_charge_form_creates_a_missing_meter_and_product_inline(login, shot):
    from playwright.sync_api import expect

    from billing.models import Meter
    from revops.parties.models import Product
    from tests.e2e.test_journeys import new_draft_plan

    page = login("pricing")
    new_draft_plan(page, "e2e-gpu", "GPU time")
    page.get_by_role("link", name="Add the first charge").click()
    page.fill("#id_code", "gpu")
    page.locator("#new-meter summary").click()
    page.fill("#id_newmeter-code", "gpu_seconds")
    page.fill("#id_newmeter-name", "GPU seconds")
    page.select_option("#id_newmeter-aggregation", "sum")
    page.fill("#id_newmeter-field", "")
    page.get_by_role("button", name="Create meter").click()
    expect(page.locator("#new-meter")).to_contain_text("Property aggregated")  # sum needs a property
    expect(page.locator("#new-meter .errorlist, #new-meter .form-error").first).to_be_visible()
    page.fill("#id_newmeter-field", "seconds")
    page.get_by_role("button", name="Create meter").click()
    expect(page.locator("#new-meter")).to_contain_text("created and chosen for this charge")
    expect(page.locator("#id_meter")).to_have_value("gpu_seconds")
    page.locator("#new-product summary").click()
    page.fill("#id_newproduct-code", "gpu")
    page.fill("#id_newproduct-name", "GPU compute")
    page.get_by_role("button", name="Create product").click()
    expect(page.locator("#id_product")).to_have_value("gpu")
    shot("charge form after inline creation")
    assert Meter.objects.get(code="gpu_seconds").field == "seconds"
    assert Product.objects.filter(code="gpu").exists()
