"""Subscription metrics page in a real browser (issue 17 §6): a finance user opens it from the sidebar,
sees MRR, ARR, net new MRR and retention on top, the usage note, both charts drawn (Chart.js from the
vendored copy, no CSP violation) and the MRR bridge, with no serious axe-core violation; downloads it
as Excel. Screenshots at desktop
width and at 390 px."""

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import axe_source, serious_violations
from tests.e2e.conftest import PASSWORD
from tests.revops.factories import UserFactory
from tests.revrec.subscriptions_world import build

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def finance_page(new_page, current, live_server):
    """Signed in through the login form as a finance user, over the metrics world (built before any
    period is closed: the shared e2e world closes 2026-09, and this world's plan starts in 2020)."""
    build()
    UserFactory(username="fin-metrics", password=PASSWORD, role="finance")
    page = new_page()
    page.goto("/login/")
    page.fill("#id_username", "fin-metrics")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    current.page = page
    return page


def test_finance_reads_mrr_movements_and_downloads_them(finance_page, shot):
    page = finance_page
    page.goto("/revenue/reports/")
    page.get_by_role("link", name="Subscription metrics").first.click()
    page.get_by_label("From month").fill("2026-02")
    page.get_by_label("To month (exclusive)").fill("2026-07")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="MRR at end of 2026-06")).to_be_visible()
    expect(page.locator(".stat-value").first).to_have_text("1,088.33")
    expect(page.locator(".stat-value").nth(3)).to_have_text("107.04%")  # NRR of January's customers
    expect(page.locator(".stat-value").nth(4)).to_have_text("84.30%")
    expect(page.locator("#usage-note")).to_contain_text("trailing three-month average of billed usage")
    for canvas in ("#mrr-chart", "#money-chart"):
        drawn = page.evaluate(f"() => !!window.Chart.getChart(document.querySelector('{canvas}'))")
        assert drawn, f"{canvas} was not drawn"
    march = page.get_by_role("row", name="2026-03").first
    expect(march).to_contain_text("−140.00")
    expect(march).to_contain_text("1,033.33")
    shot("desktop")
    assert serious_violations(page, axe_source()) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="⇣ Excel (XLSX)").click()
    assert download.value.suggested_filename == "subscription-metrics-2026-02-2026-07-USD.xlsx"
    page.set_viewport_size({"width": 390, "height": 844})
    shot("390px")
