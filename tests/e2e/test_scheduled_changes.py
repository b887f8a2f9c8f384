"""Issue 17 §4 in a real browser: on the contract page, schedule an upgrade for a future date (the
amendment form's "Schedule" button), cancel at the end of the billing period after a confirmation that
states the date and the credit, see both listed, withdraw the cancellation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from billing.contracts.models import Contract, ScheduledChange
from tests.e2e.book import build_book

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_schedule_an_upgrade_cancel_at_period_end_and_withdraw(login, shot):
    book = build_book()
    contract = book.active  # 1 Apr 2026 – 1 Apr 2027, 10.00 a month
    page = login("finance")
    page.on("dialog", lambda d: pytest.fail(f"a JavaScript dialog opened: {d.message}"))
    page.goto(f"/contracts/{contract.pk}/")
    expect(page.locator("#scheduled-changes")).to_contain_text("Nothing scheduled")

    # Schedule: the amendment form, a date after today, "Schedule for the effective date".
    page.locator("#schedule-change").click()
    page.fill("#id_effective_date", "2027-02-01")
    page.fill("input[name=q-svc]", "2")
    page.keyboard.press("Tab")  # the field's change event fires now, not when the button is clicked
    # The live preview (the amendment run and rolled back) answers first: what it would bill then.
    expect(page.locator("#amend-preview")).to_contain_text("svc rev 2: first period 1 Feb")
    page.wait_for_load_state("networkidle")
    page.locator("#schedule-amendment").click()
    expect(page.locator(".flash").first).to_contain_text("scheduled for 1 Feb 2027")
    upgrade = ScheduledChange.objects.get(kind="amendment")
    row = page.locator(f"#scheduled-change-{upgrade.pk}")
    expect(row).to_contain_text("Line svc: quantity → 2")
    expect(row).to_contain_text("Scheduled")

    # Cancel at the end of the billing period: the confirmation states the day and that nothing is credited.
    page.select_option("#cancel-at", "period_end")
    page.locator("#cancel-contract").click()
    expect(page.locator("#confirm-consequence")).to_contain_text("no credit is due")
    expect(page.locator("#confirm-step")).to_contain_text("Last day served")
    shot("cancel-period-end-confirm")
    page.locator("#confirm-action").click()
    expect(page.locator(".flash").first).to_contain_text("is scheduled to cancel on")
    cancel = ScheduledChange.objects.get(kind="cancellation")
    expect(page.locator(f"#scheduled-change-{cancel.pk}")).to_contain_text(
        "Cancel at the end of the billing period"
    )
    assert Contract.objects.get(pk=contract.pk).status == "active"
    shot("contract-with-scheduled-changes")

    # Withdraw the cancellation: it stays listed, withdrawn; the upgrade still waits.
    page.locator(f"#scheduled-change-{cancel.pk}").get_by_role("button", name="Withdraw").click()
    expect(page.locator(f"#scheduled-change-{cancel.pk}")).to_contain_text("Withdrawn")
    expect(page.locator(f"#scheduled-change-{upgrade.pk}")).to_contain_text("Scheduled")
    assert ScheduledChange.objects.get(pk=cancel.pk).status == "withdrawn"

    # Cancel now: the confirmation states the credit (nothing billed past today here: 0.00).
    page.select_option("#cancel-at", "now")
    page.locator("#cancel-contract").click()
    expect(page.locator("#confirm-consequence")).to_contain_text("cannot be undone")
    expect(page.locator("#confirm-step")).to_contain_text("Credit")
    shot("cancel-now-confirm")
    page.locator("#confirm-cancel").click()
    assert Contract.objects.get(pk=contract.pk).status == "active"
