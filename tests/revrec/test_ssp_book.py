"""SSP book (issue 6 §2): versioned, approval before use; allocation from the book at activation."""

import pytest

from revops.core.approvals.models import Approval
from revrec.models import PerformanceObligation

pytestmark = pytest.mark.django_db(transaction=True)


def _contract(api, lines):
    api.post("/api/v1/customers", {"external_id": "ssp", "name": "SSP Co", "currency": "USD"}, format="json")
    return api.post(
        "/api/v1/contracts",
        {
            "customer": "ssp",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "lines": lines,
        },
        format="json",
    ).json()


def test_ssp_change_needs_approval_before_it_is_used(api_for, catalog, django_capture_on_commit_callbacks):
    finance, approver = api_for("finance"), api_for("approver")
    proposed = finance.post(
        "/api/v1/ssp",
        {
            "product": "onboarding",
            "currency": "USD",
            "effective_from": "2025-01-01",
            "ssp": "800.00",
            "method": "observable",
            "evidence": "2025 price list",
        },
        format="json",
    )
    assert proposed.status_code == 201 and proposed.json()["status"] == "pending_approval"
    approval = Approval.objects.get(kind="ssp_change")
    assert finance.post(f"/api/v1/approvals/{approval.pk}/approve", {}, format="json").status_code == 403
    assert approver.post(f"/api/v1/approvals/{approval.pk}/approve", {}, format="json").status_code == 200
    finance.post(
        "/api/v1/ssp",
        {
            "product": "platform",
            "currency": "USD",
            "effective_from": "2025-01-01",
            "ssp": "40.00",  # a unit price: per seat and month, as the line's unit_price (§10)
            "method": "adjusted_market",
        },
        format="json",
    )
    pending = Approval.objects.get(kind="ssp_change", status="pending")
    approver.post(f"/api/v1/approvals/{pending.pk}/approve", {}, format="json")
    # A licence + support bundle sold for 1,000.00 with SSPs 800 / 12 x 40 = 480 -> 625.00 / 375.00.
    contract = _contract(
        finance,
        [
            {"key": "licence", "product": "onboarding", "amount": "760.00", "billing": "one_time"},
            {"key": "support", "product": "platform", "unit_price": "20.00"},
        ],
    )  # 760 + 12 x 20 = 1,000.00
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post(f"/api/v1/contracts/{contract['id']}/activate")
    assert response.status_code == 200, response.json()
    pos = {po.key: po for po in PerformanceObligation.objects.filter(contract_id=contract["id"])}
    assert (str(pos["licence"].allocated_amount), str(pos["support"].allocated_amount)) == (
        "625.0000",
        "375.0000",
    )
    assert pos["licence"].ssp_source.startswith("SSP book v1")


def test_residual_outside_its_range_refuses_activation_and_posts_nothing(api_for, catalog):
    finance, approver = api_for("finance"), api_for("approver")
    finance.post(
        "/api/v1/ssp",
        {
            "product": "platform",
            "currency": "USD",
            "effective_from": "2025-01-01",
            "method": "residual",
            "ssp_low": "41.67",  # per month: 500.04 – 900.00 for the year (§10)
            "ssp_high": "75.00",
        },
        format="json",
    )
    approver.post(
        f"/api/v1/approvals/{Approval.objects.get(kind='ssp_change').pk}/approve", {}, format="json"
    )
    finance.post(
        "/api/v1/ssp",
        {
            "product": "onboarding",
            "currency": "USD",
            "effective_from": "2025-01-01",
            "ssp": "1100.00",
            "method": "observable",
        },
        format="json",
    )
    approver.post(
        f"/api/v1/approvals/{Approval.objects.get(kind='ssp_change', status='pending').pk}/approve",
        {},
        format="json",
    )
    contract = _contract(
        finance,
        [
            {"key": "licence", "product": "onboarding", "amount": "1000.00", "billing": "one_time"},
            {"key": "support", "product": "platform", "unit_price": "20.00"},
        ],
    )  # price 1,240.00 -> residual 140.00
    response = finance.post(f"/api/v1/contracts/{contract['id']}/activate")
    assert response.status_code == 422
    assert "outside" in response.json()["detail"]
    assert not PerformanceObligation.objects.exists()
    assert finance.get(f"/api/v1/contracts/{contract['id']}").json()["status"] == "draft"
