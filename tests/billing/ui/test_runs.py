"""Billing-run pages: the start form calls billing_run_start (tasks run eagerly in tests), the run
page shows the job's progress bar, the parked failures and the invoices (issue 5 §7)."""

from datetime import date
from unittest import mock

import pytest

from billing.invoicing import build as build_module
from billing.models import BillingRun, Invoice
from revops.core.services.jobs import job_create

pytestmark = pytest.mark.django_db


def test_starting_a_run_creates_invoices_and_the_page_shows_progress_and_parked_failures(
    finance, make_contract, django_capture_on_commit_callbacks
):
    good = make_contract(
        [{"key": "svc", "product": "platform", "unit_price": "10.00"}], start=date(2026, 3, 1)
    )
    bad = make_contract(
        [{"key": "svc", "product": "platform", "unit_price": "20.00"}], start=date(2026, 3, 1)
    )
    real = build_module.lines_for_item

    def explode(**kwargs):
        if kwargs["contract"].pk == bad.pk:
            raise RuntimeError("price lookup failed")
        return real(**kwargs)

    with mock.patch.object(build_module, "lines_for_item", side_effect=explode):
        with django_capture_on_commit_callbacks(execute=True):
            response = finance.post("/billing/runs/", {"as_of": "2026-04-01", "customers": ""})
    run = BillingRun.objects.get()
    assert response.status_code == 302 and response.url == f"/billing/runs/{run.pk}/"
    assert Invoice.objects.filter(contract=good).count() == 2  # 1 Mar and 1 Apr
    assert not Invoice.objects.filter(contract=bad).exists()
    html = finance.get(response.url).content.decode()
    assert 'aria-valuenow="100"' in html and "Completed" in html
    assert "hx-trigger" not in html.split('id="run-live"')[1].split(">")[0]  # finished: no more polling
    assert "Parked failures" in html and "RuntimeError: price lookup failed" in html and bad.number in html
    for invoice in Invoice.objects.filter(contract=good):
        assert f"Draft #{invoice.pk}" in html
    listing = finance.get("/billing/runs/").content.decode()
    assert f"#{run.pk}" in listing and "1 Apr 2026" in listing and "badge-bad" in listing


def test_the_run_form_reports_unknown_customers_on_the_field(finance, catalog):
    response = finance.post("/billing/runs/", {"as_of": "2026-04-01", "customers": "nobody, ghost"})
    assert response.status_code == 400
    assert "Unknown customer &#x27;ghost&#x27;" in response.content.decode()
    assert not BillingRun.objects.exists()


def test_a_running_run_polls_for_its_progress_and_failures(finance):
    job = job_create(kind="billing_run", total=4)
    run = BillingRun.objects.create(as_of=date(2026, 4, 1), job=job, status=BillingRun.Status.RUNNING)
    html = finance.get(f"/billing/runs/{run.pk}/").content.decode()
    assert f'hx-get="/jobs/{job.pk}/progress/"' in html  # the core progress partial, polling
    assert f'hx-get="/billing/runs/{run.pk}/live/"' in html and 'hx-trigger="every 2s"' in html
    live = finance.get(f"/billing/runs/{run.pk}/live/", HTTP_HX_REQUEST="true").content.decode()
    assert live.lstrip().startswith('<div id="run-live"') and "No failures so far." in live
