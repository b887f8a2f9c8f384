"""The contract's revenue page shows the variable-consideration history and input-method costs, and
submits a re-estimate (or total expected costs) for approval, or records costs incurred, through HTMX
forms calling the same services as the API (§10a). A second person approves in the approval queue."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from revops.core.approvals.models import Approval
from revrec.models import ObligationCost, PerformanceObligation, VariableEstimate
from revrec.services.obligations import obligations_create
from revrec.services.schedules import schedules_generate
from tests.billing.factories import ContractFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def contract(catalog):
    contract = ContractFactory(
        lines=[
            {
                "key": "x",
                "product": "onboarding",
                "billing": "one_time",
                "amount": "500.00",
                "ssp": "600",
                "service_start": "2026-02-02",
            },
            {
                "key": "y",
                "product": "onboarding",
                "billing": "one_time",
                "amount": "500.00",
                "ssp": "600",
                "service_start": "2026-09-01",
                "variable_method": "most_likely_amount",
                "variable_estimate": "200.00",
                "variable_constrained": "200.00",
            },
            {
                "key": "build",
                "product": "platform",
                "billing": "one_time",
                "amount": "1000.00",
                "ssp": "1000",
                "recognition": "ratable_daily",
                "progress_measure": "input",
            },
        ],
        start_date=date(2026, 1, 1),
        end_date=date(2027, 1, 1),
    )
    obligations_create(contract=contract)
    schedules_generate(contract=contract)
    return contract


def _approve_in_queue(make_user, approval_pk: int) -> str:
    """The approver (a second person, in their own browser) approves the request in the approval
    queue; returns the queue page as it showed the request before."""
    approver = Client()
    approver.force_login(make_user("approver-ui", "approver"))
    queue = approver.get(reverse("approvals")).content.decode()
    response = approver.post(reverse("approvals"), {"ids": [approval_pk], "action": "approve", "comment": ""})
    assert response.status_code == 302, response.content.decode()
    assert Approval.objects.get(pk=approval_pk).status == "approved"
    return queue


def test_page_shows_estimates_and_submits_a_re_estimate_for_approval_with_htmx(contract, ui_for, make_user):
    client = ui_for("finance")
    page = client.get(reverse("revenue-contract", args=[contract.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        "Variable consideration" in html
        and "Submit re-estimate for approval" in html
        and "Input-method progress" in html
    )

    before = PerformanceObligation.objects.get(contract=contract, key="x").allocated_amount
    url = reverse("revenue-contract-estimate", args=[contract.pk])
    body = {
        "line": "y",
        "method": "most_likely_amount",
        "estimate": "240",
        "constrained": "240",
        "as_of": "2026-03-31",
        "reason": "Q1 review",
    }
    response = client.post(url, body, **HX)
    assert response.status_code == 200
    fragment = response.content.decode()
    assert 'id="estimates"' in fragment and "<html" not in fragment
    assert "submitted for approval" in fragment and 'id="estimate-pending"' in fragment
    assert "Q1 review" in fragment and "200.00 → 240.00" in fragment
    approval = Approval.objects.get(kind="variable_estimate", status="pending")
    # nothing changes until a second person approves
    assert VariableEstimate.objects.filter(contract=contract).count() == 1
    assert PerformanceObligation.objects.get(contract=contract, key="x").allocated_amount == before

    queue = _approve_in_queue(make_user, approval.pk)
    # the queue previews old vs new, the allocation per obligation and the catch-up
    assert "Preview re-estimate" in queue and "10.91" in queue and "18.18" in queue
    assert VariableEstimate.objects.filter(contract=contract).count() == 2
    # 40 split by SSP 600 : 600 : 1,000 (x, y, build) — 10.91 / 10.91 / 18.18
    record = VariableEstimate.objects.get(contract=contract, sequence=2)
    assert record.recorded_by == response.wsgi_request.user  # the maker, approved by another
    assert {a["key"]: a["share"] for a in record.allocation} == {"x": "10.91", "y": "10.91", "build": "18.18"}
    assert PerformanceObligation.objects.get(contract=contract, key="x").allocated_amount == before + Decimal(
        "10.91"
    )


def test_a_bad_re_estimate_shows_a_form_error_and_records_nothing(contract, ui_for):
    client = ui_for("finance")
    url = reverse("revenue-contract-estimate", args=[contract.pk])
    body = {
        "line": "y",
        "method": "most_likely_amount",
        "estimate": "100",
        "constrained": "150",
        "as_of": "2026-03-31",
    }
    response = client.post(url, body, **HX)
    assert response.status_code == 200
    assert (
        "form-error" in response.content.decode()
        and "cannot exceed the estimate" in response.content.decode()
    )
    assert list(VariableEstimate.objects.values_list("sequence", flat=True)) == [
        1
    ]  # only the inception record
    assert not Approval.objects.filter(kind="variable_estimate").exists()


def test_costs_are_recorded_from_the_page(contract, ui_for, make_user):
    client = ui_for("finance")
    po = PerformanceObligation.objects.get(contract=contract, key="build")
    url = reverse("revenue-obligation-cost", args=[po.pk])
    submitted = client.post(url, {"kind": "expected_total", "period": "2026-01", "amount": "800"}, **HX)
    assert submitted.status_code == 200
    assert "submitted for approval" in submitted.content.decode()
    assert f'id="cost-pending-{po.pk}"' in submitted.content.decode()
    assert not ObligationCost.objects.filter(obligation=po).exists()  # an estimate waits for approval
    pending = Approval.objects.get(kind="obligation_expected_costs", status="pending")
    queue = _approve_in_queue(make_user, pending.pk)
    assert "Preview total expected costs" in queue
    assert ObligationCost.objects.filter(obligation=po).count() == 1
    response = client.post(url, {"kind": "incurred", "period": "2026-02", "amount": "200"}, **HX)
    assert "25 %" in response.content.decode()
    assert ObligationCost.objects.filter(obligation=po).count() == 2
    bad = client.post(url, {"kind": "incurred", "period": "2026-02", "amount": "-500"}, **HX)
    assert "form-error" in bad.content.decode()
    assert ObligationCost.objects.filter(obligation=po).count() == 2


def test_auditors_cannot_record_estimates(contract, ui_for):
    client = ui_for("auditor")
    url = reverse("revenue-contract-estimate", args=[contract.pk])
    body = {
        "line": "y",
        "method": "most_likely_amount",
        "estimate": "240",
        "constrained": "240",
        "as_of": "2026-03-31",
    }
    assert client.post(url, body, **HX).status_code == 403
    assert list(VariableEstimate.objects.values_list("sequence", flat=True)) == [
        1
    ]  # only the inception record
    assert not Approval.objects.filter(kind="variable_estimate").exists()
