"""CSV and XLSX exports neutralize formula injection (issue 8 §6).

A customer, a product, a journal memo and a journal line memo are named like spreadsheet formulas
(``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)``, ``-2+3+cmd|...``, a leading tab and CR). Then every
export that exists is downloaded and every cell read back: none may start with ``= + @``, a tab or a
CR, nor with ``-`` unless it is a number; in XLSX no cell may be a formula. And the planted values
must be there, escaped with a leading apostrophe, or the check proves nothing.

Exports: ``GET /api/v1/journal-entries?format=csv``; the reports under /api/v1/reports/ (CSV and
XLSX) and the revenue pages' downloads (mounted here even before revops/urls.py includes them);
the evidence pack's CSVs (API and UI).
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal, InvalidOperation

import pytest
from django.db import transaction
from django.urls import include, path
from openpyxl import load_workbook

from revops import urls as project_urls

urlpatterns = [
    path("api/v1/", include("revrec.api.report_urls")),
    path("", include("revrec.urls")),
    *project_urls.urlpatterns,
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

CUSTOMER_NAME = '=HYPERLINK("http://x.example","click")'
CUSTOMER_ID = "@SUM(1+1)"
PRODUCT_NAME = "+cmd|' /C calc'!A0"
ENTRY_MEMO = "\t=1+2"
LINE_MEMO = "-2+3+cmd|' /C calc'!A0"
CR_MEMO = "\r@x"
PRODUCT_CODE = "-calc"  # a valid slug
PLANTED = (CUSTOMER_NAME, PRODUCT_NAME, ENTRY_MEMO, LINE_MEMO, CR_MEMO, PRODUCT_CODE)

REPORTS = {
    "waterfall": "start=2026-01&end=2026-04",
    "deferred-revenue": "period=2026-02",
    "unbilled": "period=2026-02",
    "rpo": "as_of=2026-02-15",
    "revenue": "start=2026-01&end=2026-04&group_by=customer",
    "trial-balance": "start=2026-01&end=2026-04",
}
API_REPORTS = {
    **REPORTS,
    "revenue-by-product": "start=2026-01&end=2026-04&group_by=product",
    "journal-entries": "start=2026-01&end=2026-04",
}


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def dangerous(cell) -> bool:
    if not isinstance(cell, str) or not cell:
        return False
    return cell[0] in "=+@\t\r" or (cell[0] == "-" and not _is_number(cell))


def csv_cells(content: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for cell in row]


def xlsx_cells(content: bytes) -> list:
    cells = []
    book = load_workbook(io.BytesIO(content))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"formula in {sheet.title}!{cell.coordinate}: {cell.value!r}"
                value = cell.value
                if isinstance(value, str) and value.startswith("\n"):
                    value = "\r" + value[1:]  # a stored CR reads back as LF: judge it as the CR it was
                cells.append(value)
    return cells


def zip_csv_cells(content: bytes) -> dict[str, list[str]]:
    with zipfile.ZipFile(io.BytesIO(content)) as pack:
        return {name: csv_cells(pack.read(name)) for name in pack.namelist() if name.endswith(".csv")}


def assert_neutral(where: str, cells: list) -> None:
    bad = [cell for cell in cells if dangerous(cell)]
    assert bad == [], f"{where}: {bad[:5]}"


def escaped(cells: list) -> set[str]:
    """Which planted values appear, escaped, as whole cells (XML turns a stored CR into LF)."""
    texts = {c.replace("\r", "\n") for c in cells if isinstance(c, str)}
    return {value for value in PLANTED if ("'" + value).replace("\r", "\n") in texts}


@pytest.fixture
def hostile(api_for, catalog, django_capture_on_commit_callbacks, settings, tmp_path):
    """Two periods of billing and recognition for a customer and a product named like formulas, and
    a journal entry whose memos are formulas."""
    from billing.invoicing.lifecycle import invoice_finalize
    from billing.models import Invoice
    from revops.parties.models import Product
    from revops.parties.services.products import product_create, product_update
    from revrec.models import JournalEntry
    from revrec.services import ledger
    from revrec.services.runs import revenue_run_start

    settings.MEDIA_ROOT = str(tmp_path / "media")
    finance, approver = api_for("finance"), api_for("approver")
    product_update(product=Product.objects.get(code="platform"), name=PRODUCT_NAME)
    product_create(code=PRODUCT_CODE, name="Calc", recognition="point_in_time")
    created = finance.post(
        "/api/v1/customers",
        {"external_id": CUSTOMER_ID, "name": CUSTOMER_NAME, "currency": "USD"},
        format="json",
    )
    assert created.status_code == 201, created.content
    contract = finance.post(
        "/api/v1/contracts",
        {
            "customer": CUSTOMER_ID,
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2028-01-01",
            "lines": [
                {"key": "platform", "product": "platform", "plan": "hybrid"},
                {"key": "setup", "product": "onboarding", "amount": "900.00", "billing": "one_time"},
                {"key": "calc", "product": PRODUCT_CODE, "amount": "100.00", "billing": "one_time"},
            ],
        },
        format="json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        assert finance.post(f"/api/v1/contracts/{contract['id']}/activate").status_code == 200
    for sched in finance.get("/api/v1/schedules?status=pending_approval").json()["results"]:
        approver.post(f"/api/v1/schedules/{sched['id']}/approve", {"comment": "ok"}, format="json")
    for as_of in ("2026-01-01", "2026-02-01"):
        with django_capture_on_commit_callbacks(execute=True):
            assert finance.post("/api/v1/billing-runs", {"as_of": as_of}, format="json").status_code == 202
    for invoice in Invoice.objects.filter(status="draft").order_by("billing_date", "id"):
        with transaction.atomic(), django_capture_on_commit_callbacks(execute=True):
            invoice_finalize(invoice=invoice, actor=finance.user, issue_date=invoice.billing_date)
    for period in ("2026-01", "2026-02", "2026-03"):
        with transaction.atomic(), django_capture_on_commit_callbacks(execute=True):
            revenue_run_start(period=period, actor=finance.user)
    with transaction.atomic():
        draft = ledger.Draft()
        draft.dr(ledger.account("cash"), Decimal("1.00"), memo=LINE_MEMO)
        draft.cr(ledger.account("ar"), Decimal("1.00"), memo=CR_MEMO)
        entry = ledger.journal_entry_post(
            draft=draft,
            day=date(2026, 1, 15),
            source=JournalEntry.Source.CORRECTION,
            source_type="test",
            source_id="formula",
            source_key="test-formula-memo",
            memo=ENTRY_MEMO,
            currency="USD",
        )
    assert entry is not None
    return {"finance": finance, "auditor": api_for("auditor")}


def test_the_planted_values_would_be_formulas():
    assert all(dangerous(value) for value in PLANTED)
    assert not any(dangerous(v) for v in ("-12.50", "-3", "plain", "", "'=already escaped"))


def test_journal_entries_csv(hostile):
    response = hostile["finance"].get("/api/v1/journal-entries?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    cells = csv_cells(response.content)
    assert_neutral("journal-entries.csv", cells)
    assert {ENTRY_MEMO, PRODUCT_CODE} <= escaped(cells)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("report", sorted(API_REPORTS))
def test_api_reports(hostile, report, fmt):
    slug = {"revenue-by-product": "revenue"}.get(report, report)
    response = hostile["finance"].get(f"/api/v1/reports/{slug}?{API_REPORTS[report]}&format={fmt}")
    assert response.status_code == 200, (report, fmt, response.content[:300])
    content = b"".join(response.streaming_content) if response.streaming else response.content
    cells = csv_cells(content) if fmt == "csv" else xlsx_cells(content)
    assert_neutral(f"{report}.{fmt}", cells)
    expected = {
        "revenue": {CUSTOMER_NAME},
        "revenue-by-product": {PRODUCT_NAME},
        "rpo": {CUSTOMER_NAME},
        "journal-entries": {ENTRY_MEMO, LINE_MEMO, CR_MEMO},
    }.get(report, set())
    assert expected <= escaped(cells), (report, fmt, escaped(cells))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("slug", [*sorted(REPORTS), "journal"])
def test_ui_report_downloads(hostile, slug, fmt, client, make_user):
    client.force_login(make_user("exports-ui", "finance"))
    query = REPORTS.get(slug, "start=2026-01&end=2026-04")
    response = client.get(f"/revenue/reports/{slug}/download.{fmt}?{query}")
    assert response.status_code == 200, (slug, fmt, response.content[:300])
    content = b"".join(response.streaming_content) if response.streaming else response.content
    cells = csv_cells(content) if fmt == "csv" else xlsx_cells(content)
    assert_neutral(f"download {slug}.{fmt}", cells)


def test_evidence_pack_csvs(hostile, client, make_user):
    api = hostile["auditor"].get("/api/v1/evidence?period=2026-01")
    assert api.status_code == 200 and api["Content-Type"] == "application/zip"
    client.force_login(make_user("exports-auditor", "auditor"))
    ui = client.get("/compliance/evidence/download/?period=2026-01")
    assert ui.status_code == 200
    seen: set[str] = set()
    for source, response in (("api", api), ("ui", ui)):
        content = b"".join(response.streaming_content) if response.streaming else response.content
        files = zip_csv_cells(content)
        assert len(files) >= 5, files.keys()
        for name, cells in files.items():
            assert_neutral(f"{source} evidence {name}", cells)
            seen |= escaped(cells)
    assert ENTRY_MEMO in seen, seen
