"""Revenue pages render on the report ledger (reports_world.py), figures drill down to journal lines
and from an entry to its source document; downloads match the API; runs start from the page."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from revrec.models import JournalEntry, RevenueRun
from tests.builders import EXTERNAL_ASSET
from tests.revrec import reports_world as _world
from tests.revrec.reports_world import URLS

world = _world.world  # the shared fixture

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


def test_every_revenue_page_renders_for_finance(world, ui_for):
    client = ui_for("finance")
    a = world["a"]
    pages = [
        reverse("revenue"),
        reverse("revenue-contract", args=[a.pk]),
        reverse("approvals"),
        reverse("revenue-reports"),
        reverse("revenue-report-waterfall") + "?start=2026-01&end=2026-04",
        reverse("revenue-report-deferred") + "?period=2026-03",
        reverse("revenue-report-unbilled") + "?period=2026-04",
        reverse("revenue-report-rpo") + "?as_of=2026-03-31",
        reverse("revenue-report-revenue") + "?start=2026-01&end=2026-04&group_by=customer",
        reverse("revenue-report-journal"),
        reverse("revenue-ledger") + "?start=2026-01&end=2026-04",
        reverse("revenue-ledger-lines"),
        reverse("revenue-ledger-entry", args=[JournalEntry.objects.first().pk]),
        reverse("revenue-runs"),
        reverse("revenue-ssp"),
        # first visits, no parameters: each page picks its defaults
        reverse("revenue-report-waterfall"),
        reverse("revenue-report-deferred"),
        reverse("revenue-report-unbilled"),
        reverse("revenue-report-rpo"),
        reverse("revenue-report-revenue"),
        reverse("revenue-ledger"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert not EXTERNAL_ASSET.search(response.content), url  # charts and scripts are self-hosted


def test_contract_tab_shows_pos_schedule_and_balances(world, ui_for):
    client = ui_for("auditor")
    html = client.get(reverse("revenue-contract", args=[world["a"].pk])).content.decode()
    for text in (
        "platform",
        "setup",
        "platform-usage",
        "contract price (no SSP in the book)",
        "Ratable (daily)",
    ):
        assert text in html
    assert "295.89" in html and "95.89" in html  # recognized to date and unbilled of the platform PO
    assert "2026-12" in html and "sched-chart" in html  # the schedule by month and its chart
    assert "Approved" in html  # schedule version status


def test_rollforward_page_ties_and_every_amount_drills_to_its_lines(world, ui_for):
    client = ui_for("finance")
    html = client.get(reverse("revenue-report-deferred") + "?period=2026-03").content.decode()
    assert "✓ Ties to the ledger" in html and "3,208.49" in html and "95.89" in html
    links = re.findall(r'href="(/revenue/ledger/lines/\?[^"]+)"', html)
    recognized = next(link for link in links if "period=2026-03" in link and "roles=revenue" in link)
    lines = client.get(recognized.replace("&amp;", "&")).content.decode()
    assert "203.74" in lines  # the March recognition lines add up to the figure
    entry = re.search(r'href="(/revenue/ledger/entries/\d+/)"', lines).group(1)
    detail = client.get(entry).content.decode()
    assert (
        "Revenue recognized" in detail
        and "✓ Balanced" in detail
        and "Schedule lines this entry recognized" in detail
    )


def test_waterfall_page_and_downloads(world, ui_for):
    client = ui_for("finance")
    html = client.get(
        reverse("revenue-report-waterfall") + "?start=2026-01&end=2026-04&currency=USD"
    ).content.decode()
    assert "Not yet billed" in html and "1,408.74" in html and "wf-chart" in html
    csv_response = client.get(
        reverse("revenue-report-download", args=["waterfall", "csv"]) + "?start=2026-01&end=2026-04"
    )
    assert (
        csv_response.status_code == 200
        and b"Total recognized,0.00,1408.74,184.03,203.74" in csv_response.content
    )
    xlsx = client.get(
        reverse("revenue-report-download", args=["deferred-revenue", "xlsx"]) + "?period=2026-03"
    )
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames == ["By contract", "Summary"]
    journal = client.get(reverse("revenue-report-download", args=["journal", "xlsx"]) + "?period=2026-01")
    assert journal.status_code == 200
    bad = client.get(
        reverse("revenue-report-download", args=["waterfall", "csv"]) + "?start=2026-05&end=2026-01"
    )
    assert bad.status_code == 400


def test_invoice_entry_links_to_its_invoice(world, ui_for):
    client = ui_for("finance")
    entry = JournalEntry.objects.filter(source="invoice").first()
    html = client.get(reverse("revenue-ledger-entry", args=[entry.pk])).content.decode()
    assert "Invoice INV-" in html
    try:
        invoice_url = reverse("invoice", args=[entry.source_id])
    except Exception:  # the invoice page is not mounted in this build
        invoice_url = None
    if invoice_url:
        assert f'href="{invoice_url}"' in html


def test_revenue_run_form_starts_a_run_for_finance_only(world, ui_for, django_capture_on_commit_callbacks):
    client = ui_for("auditor", "auditor-ui")
    assert client.post(reverse("revenue-runs"), {"period": "2026-04"}).status_code == 403
    client = ui_for("finance", "finance-ui-2")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("revenue-runs"), {"period": "2026-04"})
    assert response.status_code == 302
    assert RevenueRun.objects.filter(period="2026-04").exists()
    bad = client.post(reverse("revenue-runs"), {"period": "April"})
    assert bad.status_code == 400 and "not an accounting period" in bad.content.decode()
    page = client.get(reverse("revenue-runs")).content.decode()
    assert 'role="progressbar"' in page and "2026-04" in page


def test_pages_need_login(client):
    response = client.get(reverse("revenue"))
    assert response.status_code == 302 and "/login/" in response["Location"]
