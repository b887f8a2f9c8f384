"""Billing-run pages: the start form calls billing_run_start (tasks run eagerly in tests), the run
page shows the job's progress bar, the parked failures and the invoices (issue 5 §7)."""

from datetime import date
from unittest import mock

import pytest
from django.utils.dateparse import parse_datetime

from billing.invoicing.build import batch as build_module
from billing.models import BillingRun, Invoice
from revops.core.services.jobs import job_create
from tests.billing.factories import ContractFactory

pytestmark = pytest.mark.django_db


def test_starting_a_run_creates_invoices_and_the_page_shows_progress_and_parked_failures(
    finance, catalog, django_capture_on_commit_callbacks
):
    good = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 3, 1)
    )
    bad = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "20.00"}], start_date=date(2026, 3, 1)
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
        assert invoice.draft_reference in html
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


def test_the_run_page_shows_its_usage_cut_off_and_the_events_held_back(
    finance, api_for, catalog, settings, django_capture_on_commit_callbacks
):
    """Usage received after a run's watermark (USAGE_SETTLE_SECONDS before each invoice is built) is not
    on its invoices; the run page says so and counts those events — only those in periods it billed."""
    from django.utils import timezone

    from tests.builders import day, send_events

    settings.USAGE_SETTLE_SECONDS = 600
    contract = ContractFactory(
        lines=[{"key": "api", "product": "api", "plan": "hybrid"}], start_date=date(2026, 3, 1)
    )
    march = [
        {"code": "api_calls", "timestamp": day(date(2026, 3, 10)), "transaction_id": f"m{i}"}
        for i in range(5)
    ]
    send_events(contract.customer, march, received_at=timezone.now() - timezone.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        finance.post("/billing/runs/", {"as_of": "2026-04-01", "customers": ""})
    run = BillingRun.objects.get()
    invoices = Invoice.objects.filter(contract=contract)
    assert invoices.filter(lines__kind="usage", lines__quantity=5).exists()  # March's five events billed
    assert all(i.usage_watermark < timezone.now() - timezone.timedelta(minutes=9) for i in invoices)

    html = finance.get(f"/billing/runs/{run.pk}/").content.decode()
    assert "Usage cut-off" in html and "(10 minutes before each invoice was built" in html
    assert "No event received after the cut-off falls in a period this run billed." in html

    # Three March events arrive after the cut-off (late), two April events too (a period not billed yet).
    late = [
        {"code": "api_calls", "timestamp": day(date(2026, 3, 20)), "transaction_id": f"l{i}"}
        for i in range(3)
    ]
    april = [
        {"code": "api_calls", "timestamp": day(date(2026, 4, 2)), "transaction_id": f"a{i}"} for i in range(2)
    ]
    send_events(contract.customer, late + april)
    html = finance.get(f"/billing/runs/{run.pk}/").content.decode()
    assert "<strong>3 events</strong> received after the cut-off fall in periods this run billed" in html
    assert "They are held back, not lost" in html

    # The API's billing-run resource reports the same cut-off and count (issue 14 §5).
    cutoff = api_for("finance").get(f"/api/v1/billing-runs/{run.pk}").json()["usage_cutoff"]
    assert parse_datetime(cutoff.pop("watermark")) == min(i.usage_watermark for i in invoices)
    assert cutoff == {"settle_seconds": 600, "held_back": 3}


def test_a_usage_cut_off_shorter_than_the_ingestion_timeout_fails_the_system_check(settings):
    from django.core.checks import run_checks

    settings.USAGE_SETTLE_SECONDS = 30
    errors = [e for e in run_checks() if e.id == "billing.E001"]
    assert errors and "at least 60" in errors[0].msg
    settings.USAGE_SETTLE_SECONDS = 300
    assert not [e for e in run_checks() if e.id == "billing.E001"]
