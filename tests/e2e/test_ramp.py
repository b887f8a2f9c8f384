"""A ramp deal in a real browser (issue 17 §5): finance enters a three-year contract whose monthly price
steps each year (step rows added with "+ Add ramp step"), activates it, and after the approver signs
the schedule off the contract page shows the steps and, side by side, what each step invoices and
what revenue recognizes over its days, with the contract asset left at each step's end."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STEPS = [("2026-10-01", "8000.00"), ("2027-10-01", "10000.00"), ("2028-10-01", "12500.00")]


def test_finance_enters_a_ramp_and_reads_invoices_against_revenue_per_step(login, shot, e2e_world):
    from django.db import transaction
    from playwright.sync_api import expect

    from billing.contracts.models import Contract
    from billing.contracts.services import contract_activate
    from revops.parties.services.customers import customer_create
    from revrec.models import RevenueSchedule
    from revrec.services.schedules import schedule_decide

    with transaction.atomic():
        customer_create(external_id="initrode", name="Initrode Global", currency="USD")
    page = login("finance")
    page.goto("/contracts/new/?customer=initrode")
    page.fill("#id_start_date", "2026-10-01")
    page.fill("#id_end_date", "2029-10-01")
    row = page.locator("#line-rows tr").first
    row.locator('input[name="line-key"]').fill("platform")
    row.locator('select[name="line-product"]').select_option("platform")
    for i, (day, price) in enumerate(STEPS):
        page.get_by_role("button", name="+ Add ramp step").click()
        step = page.locator("#step-rows tr").nth(i)
        expect(step).to_be_visible()
        step.locator('input[name="step-line"]').fill("platform")
        step.locator('input[name="step-from"]').fill(day)
        step.locator('input[name="step-unit_price"]').fill(price)
    shot("ramp steps entered")
    page.get_by_role("button", name="Create draft contract").click()
    expect(page.get_by_role("status")).to_contain_text("366,000.00 USD fixed consideration")
    lines = page.get_by_role("region", name="Lines")
    expect(lines).to_contain_text("from 1 Oct 2027")

    contract = Contract.objects.get(customer__external_id="initrode")
    with transaction.atomic():
        contract_activate(contract=contract, actor=e2e_world.users["finance"])
    for schedule in RevenueSchedule.objects.filter(obligation__contract=contract, status="pending_approval"):
        with transaction.atomic():
            schedule_decide(schedule=schedule, user=e2e_world.users["approver"], approve=True, comment="ok")
    page.reload()
    panel = page.get_by_role("region", name="Ramp: invoices vs revenue per step")
    expect(panel).to_be_visible()
    # 366,000 over 1,096 days: year 1 (365 days) earns 121,888.69 against 96,000.00 invoiced.
    expect(panel).to_contain_text("96,000.00 USD")
    expect(panel).to_contain_text("121,888.69 USD")
    expect(panel).to_contain_text("contract asset")
    panel.scroll_into_view_if_needed()
    shot("contract page with the ramp section")
