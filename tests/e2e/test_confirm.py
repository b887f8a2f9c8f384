"""Issue 16 §2 in a real browser: what cannot be undone asks first, stating the consequence (a server-side
page: no confirm() dialog), and a recorded payment is reversed by an audited reversing entry."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from billing.contracts.models import Contract
from billing.models import Invoice, PaymentReversal
from tests.e2e.book import build_book

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_irreversible_actions_confirm_first_and_a_payment_is_reversed(login, shot):
    book = build_book()
    page = login("finance")
    page.on("dialog", lambda d: pytest.fail(f"a JavaScript dialog opened: {d.message}"))

    # Activate: the consequence first; Cancel changes nothing.
    page.goto(f"/contracts/{book.draft_contract.pk}/")
    page.get_by_role("button", name="Activate…").click()
    expect(page.locator("#confirm-consequence")).to_contain_text("Activation cannot be undone")
    shot("activate-confirm", keep="confirm-activate")
    page.locator("#confirm-cancel").click()
    assert Contract.objects.get(pk=book.draft_contract.pk).status == "draft"
    page.get_by_role("button", name="Activate…").click()
    page.locator("#confirm-action").click()
    expect(page.locator("h1 .badge")).to_have_text("Active")

    # Finalize one draft: the total and the consequence first.
    page.goto(f"/invoices/{book.draft.pk}/")
    page.get_by_role("button", name="Finalize…").click()
    expect(page.locator("#confirm-consequence")).to_contain_text("Finalizing cannot be undone")
    expect(page.locator("#confirm-step")).to_contain_text("11.00")
    shot("finalize-confirm", keep="confirm-bulk-finalize")
    page.locator("#confirm-action").click()
    expect(page.locator("h1 .badge")).to_have_text("Finalized")

    # Record a payment: amount, balance after and the consequence, then the payment.
    page.fill("#id_amount", "5.00")
    page.fill("#id_date", "2026-05-10")
    page.get_by_role("button", name="Record payment…").click()
    expect(page.locator("#confirm-step")).to_contain_text("Balance due after")
    expect(page.locator("#confirm-step")).to_contain_text("6.00")
    shot("payment-confirm")
    page.locator("#confirm-action").click()
    expect(page.locator(".flash").first).to_contain_text("Payment of")

    # Credit note: its total with tax before it is issued (4.00 + 10% = 4.40).
    page.goto(f"/invoices/{book.paid.pk}/credit-note/")
    page.locator("input[name^=line_]").first.fill("4.00")
    page.fill("#id_reason", "Service credit")
    page.get_by_role("button", name="Ask for a credit note…").click()
    expect(page.locator("#confirm-step")).to_contain_text("needs a second person")
    expect(page.locator("#confirm-step")).to_contain_text("Total credited, with tax")
    expect(page.locator("#confirm-step")).to_contain_text("4.40")
    shot("credit-note-confirm", keep="confirm-credit-note")
    page.locator("#confirm-action").click()
    expect(page.locator(".flash").first).to_contain_text("waits for approval")

    # Reverse the paid invoice's payment: a reason, the consequence, then the reversal.
    page.goto(f"/invoices/{book.paid.pk}/")
    row = page.locator(f"#payment-{book.payment.pk}")
    row.get_by_text("Reverse…").click()
    row.locator("input[name=reason]").fill("The transfer bounced")
    row.get_by_role("button", name="Reverse this payment…").click()
    expect(page.locator("#confirm-consequence")).to_contain_text("reversing journal entry")
    shot("reverse-confirm", keep="confirm-payment-reversal")
    page.locator("#confirm-action").click()
    expect(page.locator(f"#payment-{book.payment.pk}")).to_contain_text("Reversed")
    expect(page.locator("h1 .badge")).to_have_text("Finalized")
    shot("payment-reversed")

    # Terminate: no date pre-filled; the chosen day is restated before anything happens.
    page.goto(f"/contracts/{book.active.pk}/")
    expect(page.locator("#id_effective_date")).to_have_value("")
    page.fill("#id_effective_date", "2026-09-01")
    page.get_by_role("button", name="Terminate contract…").click()
    expect(page.locator("h1")).to_contain_text("Terminate contract")
    expect(page.locator("#confirm-step")).to_contain_text("1 Sep 2026")
    shot("terminate-confirm")
    assert Contract.objects.get(pk=book.active.pk).status == "active"
    page.locator("#confirm-action").click()
    expect(page.locator("h1 .badge")).to_have_text("Terminated")
    assert PaymentReversal.objects.get().reason == "The transfer bounced"
    assert Invoice.objects.get(pk=book.paid.pk).amount_paid == 0


def test_the_confirmation_step_works_without_javascript(browser, live_server, e2e_world, shot):
    from tests.e2e.conftest import PASSWORD, USERS

    book = build_book()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login/")
        page.fill("#id_username", USERS["finance"][0])
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"/invoices/{book.draft.pk}/")
        page.get_by_role("button", name="Finalize…").click()
        expect(page.locator("#confirm-consequence")).to_contain_text("Finalizing cannot be undone")
        assert Invoice.objects.get(pk=book.draft.pk).status == "draft"
        shot("finalize-confirm-no-js", page=page)
        page.locator("#confirm-action").click()
        expect(page.locator("h1 .badge")).to_have_text("Finalized")
    finally:
        context.close()
