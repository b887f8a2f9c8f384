"""Lists a finance team can work with, in a real browser (issue 16 §5): the invoice list sorts by a
column, filters by billing month and overdue with the filters saved in the URL (replacing the history
entry, not adding one), and exports exactly what it shows as CSV; the usage explorer's presets pick a
whole range and a day opens its events."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _book():
    """Two April invoices (finalized, due 1 May: overdue) and a May draft; usage on 3 and 4 May."""
    from django.db import transaction

    from billing.contracts.services import contract_activate, contract_create
    from billing.invoicing.build import invoice_build
    from billing.invoicing.lifecycle import invoice_finalize
    from billing.models import Invoice
    from billing.usage.ingest import ingest_events
    from revops.parties.services.customers import customer_create

    made = {}
    for key, name, price, on in (
        ("north", "Northwind", "120.00", date(2026, 4, 1)),
        ("south", "Southwind", "80.50", date(2026, 4, 1)),
        ("east", "Eastwind", "99.99", date(2026, 5, 1)),
    ):
        with transaction.atomic():
            customer_create(external_id=key, name=name, currency="USD")
            contract = contract_create(
                customer=key,
                currency="USD",
                start_date=on,
                end_date=date(2027, 4, 1),
                billing_anchor="calendar",
                lines=[{"key": "svc", "product": "platform", "unit_price": price}],
            )
            contract_activate(contract=contract)
        with transaction.atomic():
            made[key] = invoice_build(contract_id=contract.pk, billing_date=on)
        if key != "east":
            with transaction.atomic():
                made[key] = invoice_finalize(invoice=made[key])
    Invoice.objects.filter(status="finalized").update(due_date=date(2026, 5, 1))
    ingest_events(
        events=[
            {
                "transaction_id": f"ev-{n}",
                "customer": "north",
                "code": "llm_tokens",
                "timestamp": datetime(2026, 5, 3 + n % 2, 10 + n, tzinfo=UTC).isoformat(),
                "properties": {"tokens": 100 * (n + 1), "model": "gpt", "token_type": "input"},
            }
            for n in range(3)
        ],
        source="api",
    )
    return {k: Invoice.objects.get(pk=v.pk) for k, v in made.items()}


def test_invoice_list_sorts_filters_in_the_url_and_exports_what_it_shows(login, shot):
    from playwright.sync_api import expect

    book = _book()
    north, south = book["north"], book["south"]
    page = login("finance")
    page.goto("/invoices/?status=all")
    page.get_by_role("link", name="Total").click()
    page.wait_for_url("**sort=total**")
    rows = page.locator("#invoice-results tbody tr")
    expect(rows.first).to_contain_text(south.number)  # 80.50 before 120.00
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Total")
    page.get_by_role("link", name="Total").click()
    page.wait_for_url("**sort=-total**")
    expect(rows.first).to_contain_text(north.number)  # 120.00 first, then the 99.99 draft
    shot("invoices sorted by total")

    depth = page.evaluate("history.length")
    page.select_option("#f-overdue", "true")
    page.wait_for_url("**overdue=true**")
    expect(rows).to_have_count(2)
    expect(page.locator("#invoice-results")).not_to_contain_text("Eastwind")
    page.fill("#f-period", "2026-04")
    page.locator("#f-period").dispatch_event("change")
    page.wait_for_url("**billing_period=2026-04**")
    assert page.evaluate("history.length") == depth  # replaced, not pushed
    assert "sort=-total" in page.url  # the sort survives a filter change
    shot("invoices overdue in April", keep="invoice-list-filters")

    with page.expect_download() as download:
        page.locator("#export-csv").click()
    text = open(download.value.path(), encoding="utf-8").read()
    rows_csv = list(csv.DictReader(io.StringIO(text)))
    assert [r["number"] for r in rows_csv] == [north.number, south.number]
    assert [Decimal(r["total"]) for r in rows_csv] == [north.total, south.total]

    page.reload()  # the filters are in the URL: a reload (or a shared link) shows the same list
    expect(page.locator("#f-overdue")).to_have_value("true")
    expect(page.locator("#f-period")).to_have_value("2026-04")


def test_usage_explorer_presets_and_a_day_that_opens_its_events(login, shot):
    from playwright.sync_api import expect

    _book()
    page = login("finance")
    page.goto("/usage/?customer=north&meter=llm_tokens&start=2026-05-01&end=2026-06-01")
    expect(page.locator("[data-preset]")).to_have_count(4)
    page.locator("[data-preset=last30]").click()
    expect(page.locator("[data-preset=last30]")).to_have_attribute("aria-current", "true")
    page.goto("/usage/?customer=north&meter=llm_tokens&start=2026-05-01&end=2026-06-01")
    depth = page.evaluate("history.length")
    page.locator("[data-day='2026-05-03']").click()
    events = page.locator("#day-events")
    expect(events).to_contain_text("ev-0")
    expect(events).to_contain_text("ev-2")
    expect(events).not_to_contain_text("ev-1")
    assert "day=2026-05-03" in page.url and page.evaluate("history.length") == depth
    shot("usage day opened", keep="usage-explorer-day")
    page.select_option("#u-group", "model")
    expect(page.locator("#usage-results")).to_contain_text("By model")
    assert page.evaluate("history.length") == depth
