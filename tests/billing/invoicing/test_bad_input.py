"""Issue 12 §9: dates outside 1900–2199 and billing runs beyond the billing horizon are refused
(400 problem / form error) with nothing written — through the API, the UI and the services."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction
from django.utils import timezone

from billing.contracts.models import Contract
from billing.invoicing.build import invoice_build
from billing.invoicing.lifecycle import invoice_finalize
from billing.models import BillingRun, Invoice, Payment
from billing.periods import add_months
from revrec.models import RevenueRun
from tests.billing.factories import ContractFactory
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def problem(response, status: int = 400) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == PROBLEM
    return response.json()


def fields(body: dict) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


@pytest.fixture
def finalized(catalog):
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 4, 1)
    )
    with transaction.atomic():
        invoice = invoice_build(contract_id=contract.pk, billing_date=date(2026, 4, 1))
        return invoice_finalize(invoice=invoice)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01"])
def test_a_payment_dated_out_of_range_is_a_400_and_records_nothing(api_for, finalized, day):
    body = problem(
        api_for("finance").post(
            f"/api/v1/invoices/{finalized.pk}/payments", {"amount": "1.00", "date": day}, format="json"
        )
    )
    assert fields(body) == {"date"} and "1900-01-01 and 2199-12-31" in body["detail"]
    assert not Payment.objects.exists()


def test_the_payment_service_refuses_an_out_of_range_date_too(finalized):
    from billing.invoicing.lifecycle import payment_record
    from revops.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        payment_record(invoice=finalized, amount="1.00", paid_on=date(9999, 12, 31))
    assert caught.value.errors[0].field == "date"
    assert not Payment.objects.exists()


def test_a_contract_to_9999_12_31_is_a_400_and_not_created(api_for, catalog):
    CustomerFactory(external_id="acme")
    body = problem(
        api_for("finance").post(
            "/api/v1/contracts",
            {
                "customer": "acme",
                "currency": "USD",
                "start_date": "2026-01-01",
                "end_date": "9999-12-31",
                "lines": [{"key": "platform", "product": "platform", "unit_price": "10.00"}],
            },
            format="json",
        )
    )
    assert fields(body) == {"end_date"}
    assert not Contract.objects.exists()


def test_a_revenue_run_for_9999_12_is_a_400(api_for):
    body = problem(api_for("finance").post("/api/v1/revenue-runs", {"period": "9999-12"}, format="json"))
    assert fields(body) == {"period"} and "1900-01 and 2199-12" in body["detail"]
    assert not RevenueRun.objects.exists()


def test_the_evidence_pack_for_9999_12_is_a_400(api_for):
    body = problem(api_for("admin").get("/api/v1/evidence", {"period": "9999-12"}))
    assert fields(body) == {"period"}


def test_a_schedule_preview_over_1000_to_9000_is_a_400(api_for):
    body = problem(
        api_for("finance").post(
            "/api/v1/schedules/preview",
            {
                "currency": "USD",
                "amount": "100",
                "method": "ratable_monthly",
                "start": "1000-01-01",
                "end": "9000-01-01",
            },
            format="json",
        )
    )
    assert fields(body) == {"start", "end"}


def test_a_report_as_of_year_9999_is_a_400(api_for):
    body = problem(api_for("finance").get("/api/v1/reports/rpo", {"as_of": "9999-12-31", "currency": "USD"}))
    assert fields(body) == {"as_of"}


# --- billing runs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01"])
def test_a_billing_run_as_of_out_of_range_is_refused(api_for, as_of):
    body = problem(api_for("finance").post("/api/v1/billing-runs", {"as_of": as_of}, format="json"))
    assert fields(body) == {"as_of"}
    assert not BillingRun.objects.exists()


def test_a_billing_run_more_than_one_interval_ahead_is_refused(api_for):
    too_far = add_months(timezone.localdate(), 12) + (date(2026, 1, 2) - date(2026, 1, 1))
    body = problem(
        api_for("finance").post("/api/v1/billing-runs", {"as_of": too_far.isoformat()}, format="json")
    )
    assert fields(body) == {"as_of"} and "one billing interval ahead" in body["detail"]
    assert not BillingRun.objects.exists()


@pytest.mark.parametrize(
    ("as_of", "message"),
    [("9999-12-31", "between 1900-01-01 and 2199-12-31"), ("2199-12-31", "one billing interval ahead")],
)
def test_the_billing_run_form_shows_the_refusal_as_a_form_error(ui_for, settings, as_of, message):
    settings.ROOT_URLCONF = "tests.billing.views.urls"
    response = ui_for("finance").post("/billing/runs/", {"as_of": as_of})
    assert response.status_code in (200, 400)
    assert message in response.content.decode()
    assert not BillingRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_bills_each_line_at_most_one_interval_ahead(catalog):
    """A run as of eleven months ahead is allowed (a yearly line may bill its next year), but a monthly
    line still bills only the current period and the next one, not eleven months in advance."""
    from billing.invoicing.runs import billing_run_start

    today = timezone.localdate()
    first = today.replace(day=1)
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
        start_date=first,
        end_date=add_months(first, 24),
    )
    run = BillingRun.objects.get(pk=billing_run_start(as_of=add_months(today, 11)).pk)
    assert run.status == BillingRun.Status.COMPLETED
    assert sorted(Invoice.objects.filter(contract=contract).values_list("billing_date", flat=True)) == [
        first,
        add_months(first, 1),
    ]


@pytest.mark.parametrize("period", ["9999-12", "0001-01", "2026-13"])
def test_reperform_refuses_a_period_out_of_range_with_a_command_error(period):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--period"):
        call_command("reperform", period=period)


def test_the_payment_form_refuses_9999_12_31_with_a_form_error(ui_for, settings, finalized):
    settings.ROOT_URLCONF = "tests.billing.views.urls"
    response = ui_for("finance").post(
        f"/invoices/{finalized.pk}/payments/", {"amount": "1.00", "date": "9999-12-31"}
    )
    assert response.status_code == 400
    assert "between 1900-01-01 and 2199-12-31" in response.content.decode()
    assert not Payment.objects.exists()
