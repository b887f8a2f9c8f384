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


TERMS = ("product", "billing", "quantity", "unit_price", "amount", "recognition", "series", "service_end")


def _snapshot(scenario):
    """Everything a rejected modification must leave as it was: the transaction price, the terms of
    the lines in force (latest revision of each key), allocations, schedules and the revenue journal."""
    from revrec.models import JournalEntry

    contract = scenario.get(f"contracts/{scenario.id}")
    latest = {}
    for line in sorted(contract["lines"], key=lambda ln: (ln["key"], ln["revision"])):
        latest[line["key"]] = {k: line[k] for k in TERMS}
    return {
        "price": contract["transaction_price"],
        "lines": latest,
        "allocations": scenario.allocations(),
        "schedule": scenario.schedule(),
        "journal": JournalEntry.objects.filter(contract_id=scenario.id).count(),
    }


@pytest.fixture
def restored(scenario, catalog):
    """a: platform 100.00 a month over 2026 (over time, a series); b: a 12,000 build project
    recognized monthly over 2026; revenue posted through March."""
    scenario.customer("rj", name="Rj Co").product("build", "ratable_monthly")
    scenario.contract(
        "2026-01-01",
        "2027-01-01",
        [
            {"key": "a", "product": "platform", "unit_price": "100.00"},
            {"key": "b", "product": "build", "billing": "one_time", "amount": "12000.00"},
        ],
        approved_by="approver",
    )
    scenario.recognize("2026-01", "2026-02", "2026-03")
    return scenario


def _reject(scenario):
    [approval] = [
        a for a in scenario.get("approvals?status=pending")["results"] if a["kind"] == "contract_modification"
    ]
    scenario.post(f"approvals/{approval['id']}/reject", {"comment": "not agreed"}, role="approver")
    assert scenario.modification()["status"] == "rejected"


@pytest.mark.parametrize(
    "amendment",
    [  # a changed over-time line (re-priced, its service and the term extended); a removed line
        {"end_date": "2027-04-01", "changes": [{"line": "b", "amount": "15000.00", "end": "2027-04-01"}]},
        {"changes": [{"remove": "b"}]},
    ],
    ids=["changed", "removed"],
)
def test_rejected_modification_restores_the_contract(restored, amendment):
    """F2: amended on 1 April (b re-priced and extended, or removed), the modification rejected: the
    price, the lines' terms, the allocations, the schedules and the journal are as before the
    amendment (the revenue hold posted nothing of the rejected terms), and April then posts the
    original terms."""
    scenario = restored
    before = _snapshot(scenario)
    scenario.amend({"effective_date": "2026-04-01", **amendment})
    assert _snapshot(scenario) != before  # the amendment did change the contract's terms
    scenario.recognize("2026-04")  # held: the modification waits
    _reject(scenario)
    assert _snapshot(scenario) == before
    scenario.recognize("2026-04")
    assert scenario.recognized() == {
        "a": sum((v for p, v in before["schedule"]["a"].items() if p <= "2026-04"), Decimal(0)),
        "b": Decimal("4000.00"),
    }
