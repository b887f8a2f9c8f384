"""390 px (review16 §5): the review queue's "Finalize all N matching drafts" stays inside its card, the
approvals queue's decision is reachable (stacked below the request, not off-screen), and an empty month
picker says what to type instead of "--------- ----"."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.test_lists import _book

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _right(locator) -> float:
    box = locator.bounding_box()
    return box["x"] + box["width"]


def test_at_390px_buttons_stay_in_their_card_and_decisions_are_reachable(login, shot):
    from django.db import transaction

    from billing.invoicing.build import invoice_build
    from billing.invoicing.credits import credit_grant_request
    from revops.parties.models import Customer

    east = _book()["east"]
    for month in range(6, 13):  # ten drafts: "Finalize all 10 matching drafts", the reviewer's label width
        with transaction.atomic():
            invoice_build(contract_id=east.contract_id, billing_date=date(2026, month, 1))
    with transaction.atomic():
        credit_grant_request(
            customer=Customer.objects.get(external_id="north"),
            amount=Decimal("250.00"),
            granted_on=date(2026, 5, 1),
            payment_reference="WIRE-77",
        )
    failures = []
    page = login("finance")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/invoices/?status=draft")
    button = page.locator("#finalize-all")
    expect(button).to_contain_text("Finalize all 8 matching drafts")
    card = button.locator("xpath=ancestor::*[contains(concat(' ', @class, ' '), ' card ')][1]")
    if not (_right(button) <= _right(card) + 0.5 and _right(button) <= 390):
        failures.append("finalize-all overflows its card")
    if button.evaluate("b => getComputedStyle(b).whiteSpace") != "normal":
        failures.append("a long button label cannot wrap at 390 px")
    period = page.locator("#f-period")
    if (period.get_attribute("type"), period.get_attribute("placeholder")) != ("text", "YYYY-MM"):
        failures.append("an empty month picker shows no format hint")
    shot("390-review-queue")

    approver = login("approver")
    approver.set_viewport_size({"width": 390, "height": 844})
    approver.goto("/approvals/")
    approve = approver.get_by_role("button", name="Approve", exact=True).first
    expect(approve).to_be_attached()
    box = approve.bounding_box()
    if not (box and 0 <= box["x"] and box["x"] + box["width"] <= 390):
        failures.append(f"the decision is off-screen: {box}")
    shot("390-approvals", page=approver)
    assert not failures, failures
