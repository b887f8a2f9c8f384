"""Find by number, everywhere; no jargon on finance screens (issue 16 §1, §8), in a real browser.

§1: the auditor opens the command palette with "/", types an invoice's number, moves to its audit
trail with the arrow keys and opens it with Enter; typing the invoice's internal id in the trail's
number filter shows no trail of it. Finance finds a draft by its draft reference ("D-…") in the invoice
list and with Ctrl+K, and the success message names the customer next to the reference.
§8: audit boxes are before → after tables, never a dict; a meter reads "Sum of tokens"."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def initech(e2e_world):
    """Initech's contract and three monthly invoices: November finalized before October, so
    INV-…01 is the record with the higher internal id; December stays a draft."""
    from django.db import transaction

    from billing.invoicing.lifecycle import invoice_finalize
    from tests.billing.factories import ContractFactory, ContractLineFactory, InvoiceFactory

    contract = ContractFactory(
        customer__name="Initech",
        customer__external_id="initech",
        start_date=date(2026, 10, 1),
        end_date=date(2027, 10, 1),
        lines=[ContractLineFactory(key="svc", product="platform", unit_price="1200.00")],
    )
    october, november, december = (
        InvoiceFactory(contract=contract, billing_date=date(2026, month, 1)) for month in (10, 11, 12)
    )
    with transaction.atomic():
        november = invoice_finalize(invoice=november, actor=None, issue_date=date(2026, 11, 1))
    with transaction.atomic():
        october = invoice_finalize(invoice=october, actor=None, issue_date=date(2026, 11, 1))
    return {"first": november, "second": october, "draft": december}


def test_the_auditor_finds_an_invoice_trail_by_typing_its_number(login, shot, initech):
    first = initech["first"]
    assert first.pk != first.sequence  # its internal id is another number
    page = login("auditor")
    page.keyboard.press("/")
    palette = page.locator("#palette")
    expect(palette).to_be_visible()
    page.keyboard.type(first.number)
    options = palette.get_by_role("option")
    expect(options.first).to_contain_text(first.number)
    expect(options.first).to_contain_text("Initech")
    expect(options.first).to_have_attribute("aria-selected", "true")
    trail_option = options.filter(has_text=f"Audit trail of {first.number}")
    expect(trail_option).to_have_count(1)
    shot("palette-with-the-number", keep="search-palette")
    page.keyboard.press("ArrowDown")
    expect(trail_option).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/compliance/audit/?ref={first.number}")
    results = page.locator("#audit-results")
    expect(results).to_contain_text(f"Trail of Invoice {first.number} · Initech")
    expect(results.get_by_role("row").filter(has_text="Invoice finalized")).to_have_count(1)
    expect(results.locator(".cx-change-table").first).to_be_visible()
    shot("trail-of-the-number", keep="audit-trail-by-number")

    # The internal id is not a document number: no trail of this invoice behind it.
    page.fill("#f-ref", str(first.pk))
    expect(results.locator(".au-matched")).not_to_contain_text(first.number)
    expect(results).not_to_contain_text(f"Invoice {first.number} · Initech")
    shot("internal-id-is-not-a-number")

    # The search page says the same, read-only for the auditor.
    page.goto(f"/search/?q={first.number}")
    hit = page.locator(".sr-hit").filter(has_text=first.number).first
    expect(hit).to_contain_text("view only")
    expect(page.get_by_role("link", name="Record payment")).to_have_count(0)
    shot("search-page-read-only")


def test_finance_finds_a_draft_by_its_reference_and_the_message_names_the_customer(login, shot, initech):
    draft, first = initech["draft"], initech["first"]
    page = login("finance")
    page.goto("/invoices/")
    page.fill("#f-number", draft.draft_reference)
    rows = page.locator("#invoice-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"Draft {draft.draft_reference}")
    expect(rows.first).to_contain_text("Initech")
    page.fill("#f-number", first.number)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(first.number)
    shot("invoice-list-by-number")

    page.keyboard.press("Control+k")
    expect(page.locator("#palette")).to_be_visible()
    page.keyboard.type(draft.draft_reference)
    option = page.locator("#palette").get_by_role("option").first
    expect(option).to_contain_text(draft.draft_reference)
    expect(option).to_contain_text("Draft invoice · Initech")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/invoices/{draft.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Draft {draft.draft_reference}")
    expect(page.get_by_role("heading", level=1)).not_to_contain_text("#")  # no "Draft #id"
    page.get_by_role("button", name="Refresh usage").click()
    expect(page.locator(".flash").first).to_contain_text(f"Draft {draft.draft_reference} of Initech")
    expect(page.locator(".flash").first).to_contain_text("Total now 1,200.00 USD.")
    shot("draft-page-with-message")


def test_audit_boxes_are_tables_and_meters_say_what_they_sum(login, shot, initech):
    first = initech["first"]
    page = login("finance")
    page.goto(f"/invoices/{first.pk}/")
    audit = page.locator("section[aria-labelledby=audit-title]")
    finalized = audit.get_by_role("row").filter(has_text="Invoice finalized")
    expect(finalized.locator(".cx-change-table")).to_contain_text("Total")
    expect(finalized.locator(".cx-change-table")).to_contain_text("1,200.00")
    expect(audit).not_to_contain_text("{")
    expect(audit).not_to_contain_text("credits_applied")
    shot("invoice-audit-box", keep="audit-box-table")

    page.goto("/pricing/catalog/")
    meter = page.get_by_role("row").filter(has_text="llm_tokens")
    expect(meter).to_contain_text("Sum of tokens")
    expect(page.locator("body")).not_to_contain_text("Sum of a property")
    shot("meters", keep="meters-sum-of-tokens")
