"""A rejected contract modification leaves the contract as it was (reviewer finding F2): a reverting
contract version is appended (history kept, audited), the transaction price matches the obligations
again, and billing credits whatever the rejected terms had billed meanwhile."""

from decimal import Decimal

import pytest

from billing.contracts.models import ContractVersion
from billing.models import InvoiceLine
from revops.core.audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _ok(response, status=(200, 201, 202)):
    assert response.status_code in status, response.json()
    return response.json()


def _run(api, capture, as_of):
    with capture(execute=True):
        run = _ok(api.post("/api/v1/billing-runs", {"as_of": as_of}, format="json"))
    run = _ok(api.get(f"/api/v1/billing-runs/{run['id']}"))
    assert run["status"] == "completed" and run["failures"] == [], run


def _pending(finance):
    return _ok(finance.get("/api/v1/approvals?status=pending"))["results"]


def test_rejecting_a_modification_reverts_the_amendment_and_credits_what_it_billed(
    api_for, catalog, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    finance, approver = api_for("finance"), api_for("approver")
    _ok(
        finance.post(
            "/api/v1/customers", {"external_id": "f2", "name": "F2", "currency": "USD"}, format="json"
        )
    )
    contract = _ok(
        finance.post(
            "/api/v1/contracts",
            {
                "customer": "f2",
                "currency": "USD",
                "start_date": "2026-12-01",
                "end_date": "2027-12-01",
                "lines": [
                    {
                        "key": "lic",
                        "product": "onboarding",
                        "billing": "one_time",
                        "amount": "1000000.00",
                        "service_start": "2026-12-15",
                    }
                ],
            },
            format="json",
        )
    )
    pk = contract["id"]
    with capture(execute=True):
        _ok(finance.post(f"/api/v1/contracts/{pk}/activate"))
    for a in _pending(finance):  # the initial schedules
        _ok(approver.post(f"/api/v1/approvals/{a['id']}/approve", {}, format="json"))
    _run(finance, capture, "2026-12-15")

    with capture(execute=True):
        _ok(
            finance.post(
                f"/api/v1/contracts/{pk}/amend",
                {"effective_date": "2026-12-01", "changes": [{"line": "lic", "amount": "1350000.00"}]},
                format="json",
            )
        )
    _run(finance, capture, "2026-12-20")  # the amended terms bill meanwhile (the difference)
    [approval] = [a for a in _pending(finance) if a["kind"] == "contract_modification"]
    _ok(approver.post(f"/api/v1/approvals/{approval['id']}/reject", {"comment": "not agreed"}, format="json"))

    mod = _ok(finance.get(f"/api/v1/contracts/{pk}/modifications"))["results"][0]
    assert mod["status"] == "rejected"
    after = _ok(finance.get(f"/api/v1/contracts/{pk}"))
    assert Decimal(after["transaction_price"]) == Decimal("1000000.00")
    allocated = sum(Decimal(po["allocated_amount"]) for po in after["performance_obligations"])
    assert allocated == Decimal(after["transaction_price"])  # allocation_equals_price holds again
    assert after["version"] == 3  # appended, not edited
    assert list(ContractVersion.objects.filter(contract_id=pk).values_list("kind", flat=True))[-2:] == [
        "amendment",
        "reversion",
    ]
    assert AuditEvent.objects.filter(action="contract.amendment_reverted").exists()

    _run(finance, capture, "2027-01-10")
    billed = list(
        InvoiceLine.objects.filter(contract_line__contract_id=pk, kind="one_time")
        .exclude(invoice__status="void")
        .order_by("invoice__billing_date", "id")
        .values_list("amount", flat=True)
    )
    assert billed == [Decimal("1000000.00"), Decimal("350000.00"), Decimal("-350000.00")]
    assert sum(billed) == Decimal("1000000.00")
