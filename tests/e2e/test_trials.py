"""Issue 17 §2 in a real browser: the contract page of a contract in its free trial shows the trial
badge and the conversion date, and cancelling during the trial asks first, stating the consequence
(the contract ends on the conversion date; the paid period is never billed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.contracts.models import Contract

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_contract_in_trial_shows_it_and_cancels_with_a_confirmation(login, shot):
    from tests.billing.factories import ContractFactory
    from tests.revops.factories import CustomerFactory

    today = timezone.localdate()
    start = today - timedelta(days=5)
    contract = ContractFactory(
        customer=CustomerFactory(external_id="piedpiper", name="Pied Piper"),
        lines=[{"key": "seats", "product": "seats", "unit_price": "30.00"}],
        start_date=start,
        end_date=start + timedelta(days=365),
        trial_days=30,
    )
    converts = start + timedelta(days=30)
    page = login("finance")
    page.goto(f"/contracts/{contract.pk}/")
    expect(page.locator("#trial-badge")).to_have_text("In trial")
    expect(page.locator("#trial")).to_contain_text(f"Converts to paid on {converts.day} {converts:%b %Y}")
    shot("contract-in-trial")
    page.get_by_role("button", name="Cancel during the trial…").click()
    expect(page.locator("#confirm-consequence")).to_contain_text("the paid period is never billed")
    expect(page.locator("#confirm-step")).to_contain_text(f"{converts.day} {converts:%b %Y}")
    shot("cancel-trial-confirm")
    assert Contract.objects.get(pk=contract.pk).status == "active"
    page.locator("#confirm-action").click()
    expect(page.locator("h1 .badge").first).to_have_text("Terminated")
    expect(page.locator("#trial")).to_contain_text("canceled")
    shot("trial-canceled")
