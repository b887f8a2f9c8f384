"""Issue 12.4: a contract line priced beyond the threshold below its plan's list price (default: more
than 20 % off) takes effect only after a second person approves a ``price_override`` request — through
the API, the UI and for amendments — and then bills at exactly the approved price."""

from datetime import date
from decimal import Decimal

import pytest

from billing.contracts.models import Contract
from billing.models import Invoice, InvoiceLine
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from tests.billing.factories import ContractFactory
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# the "hybrid" plan of tests/builders.py: platform fee 100.00 a month, in advance
CONTRACT = {
    "customer": "acme",
    "currency": "USD",
    "start_date": "2026-01-01",
    "end_date": "2027-01-01",
    "lines": [{"key": "platform", "product": "platform", "plan": "hybrid", "unit_price": "0.01"}],
}


@pytest.fixture(autouse=True)
def custom_prices_need_approval(settings):
    """The rule under test: a priced line with no list price waits for an approver (on by default;
    the test settings switch it off for the other suites' fixtures)."""
    settings.PRICE_OVERRIDE_CUSTOM_APPROVAL = True


@pytest.fixture
def finance(api_for, catalog):
    CustomerFactory(external_id="acme")
    return api_for("finance")


@pytest.fixture
def approver(api_for):
    return api_for("approver")


def _bill(api, as_of, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/billing-runs", {"as_of": as_of, "customers": ["acme"]}, format="json")
    assert response.status_code == 202, response.json()


def _fees(contract_id):
    return list(
        InvoiceLine.objects.filter(invoice__contract_id=contract_id, kind=InvoiceLine.Kind.FEE).values_list(
            "amount", flat=True
        )
    )


def test_api_activation_of_a_deep_discount_waits_for_a_second_person(
    finance, approver, django_capture_on_commit_callbacks
):
    """The attack: 0.01 against a 100.00 list price, activated and billed with no approval."""
    contract = finance.post("/api/v1/contracts", CONTRACT, format="json").json()
    response = finance.post(f"/api/v1/contracts/{contract['id']}/activate")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending_approval"
    assert body["approval"]["kind"] == "price_override" and body["approval"]["status"] == "pending"
    override = body["approval"]["payload"]["overrides"][0]
    assert (override["list_price"], override["unit_price"], override["discount_pct"]) == (
        "100.00",
        "0.01",
        "99.99",
    )
    assert Contract.objects.get(pk=contract["id"]).activated_at is None
    assert not AuditEvent.objects.filter(action="contract.activated").exists()
    assert AuditEvent.objects.filter(action="contract.price_override_requested").count() == 1
    # asking again neither activates nor opens a second request
    assert finance.post(f"/api/v1/contracts/{contract['id']}/activate").status_code == 202
    assert Approval.objects.filter(kind="price_override").count() == 1

    _bill(finance, "2026-03-01", django_capture_on_commit_callbacks)
    assert not Invoice.objects.filter(contract_id=contract["id"]).exists()  # nothing billed

    approval_id = body["approval"]["id"]
    own = finance.post(f"/api/v1/approvals/{approval_id}/approve", {"comment": ""}, format="json")
    assert own.status_code == 403  # finance cannot decide at all; the requester never
    assert Contract.objects.get(pk=contract["id"]).status == "pending_approval"

    decided = approver.post(f"/api/v1/approvals/{approval_id}/approve", {"comment": "ok"}, format="json")
    assert decided.status_code == 200, decided.json()
    activated = Contract.objects.get(pk=contract["id"])
    assert activated.status == "active"
    event = AuditEvent.objects.get(action="contract.activated", object_id=str(activated.pk))
    assert event.changes["price_override_approval"] == approval_id

    _bill(finance, "2026-03-01", django_capture_on_commit_callbacks)
    assert _fees(contract["id"]) and set(_fees(contract["id"])) == {Decimal("0.01")}


def test_discount_within_the_threshold_activates_directly(finance):
    body = {**CONTRACT, "lines": [{**CONTRACT["lines"][0], "unit_price": "80.00"}]}  # 20 % off: allowed
    contract = finance.post("/api/v1/contracts", body, format="json").json()
    response = finance.post(f"/api/v1/contracts/{contract['id']}/activate")
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert not Approval.objects.filter(kind="price_override").exists()


def test_threshold_is_a_setting(finance, settings):
    settings.PRICE_OVERRIDE_APPROVAL_PCT = "5"
    body = {**CONTRACT, "lines": [{**CONTRACT["lines"][0], "unit_price": "90.00"}]}
    contract = finance.post("/api/v1/contracts", body, format="json").json()
    assert finance.post(f"/api/v1/contracts/{contract['id']}/activate").status_code == 202


def test_rejection_returns_the_contract_to_draft(finance, approver):
    contract = finance.post("/api/v1/contracts", CONTRACT, format="json").json()
    approval = finance.post(f"/api/v1/contracts/{contract['id']}/activate").json()["approval"]
    rejected = approver.post(
        f"/api/v1/approvals/{approval['id']}/reject", {"comment": "not at 0.01"}, format="json"
    )
    assert rejected.status_code == 200
    assert Contract.objects.get(pk=contract["id"]).status == "draft"
    assert AuditEvent.objects.filter(action="contract.price_override_rejected").exists()


def test_api_amendment_to_a_deep_discount_applies_only_once_approved(
    finance, approver, django_capture_on_commit_callbacks
):
    body = {**CONTRACT, "lines": [{"key": "platform", "product": "platform", "plan": "hybrid"}]}
    contract = finance.post("/api/v1/contracts", body, format="json").json()
    assert finance.post(f"/api/v1/contracts/{contract['id']}/activate").status_code == 200
    change = {"effective_date": "2026-04-01", "changes": [{"line": "platform", "unit_price": "0.01"}]}
    response = finance.post(f"/api/v1/contracts/{contract['id']}/amend", change, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["version"] == 1 and len(response.json()["lines"]) == 1  # nothing applied
    payload = response.json()["approval"]["payload"]
    assert payload["action"] == "amend" and payload["changes"] == change["changes"]
    assert payload["overrides"][0]["revision"] == 2
    assert not AuditEvent.objects.filter(action="contract.amended").exists()

    decided = approver.post(
        f"/api/v1/approvals/{response.json()['approval']['id']}/approve", {"comment": ""}, format="json"
    )
    assert decided.status_code == 200, decided.json()
    amended = finance.get(f"/api/v1/contracts/{contract['id']}").json()
    assert amended["version"] == 2
    assert [(ln["revision"], ln["unit_price"]) for ln in amended["lines"]] == [(1, None), (2, "0.01")]
    _bill(finance, "2026-05-01", django_capture_on_commit_callbacks)
    april = Invoice.objects.get(contract_id=contract["id"], billing_date=date(2026, 4, 1))
    assert [ln.amount for ln in april.lines.filter(kind="fee")] == [Decimal("0.01")]


def test_a_stale_override_is_voided_and_asked_again_for_the_contract_as_it_now_is(finance, approver):
    """Bound to content: once the contract moved on (another amendment, version 2 → 3), the pending
    override is voided (superseded) at once and, since the amendment still needs an approver, a new
    request re-derived against the new version takes its place; approving it applies the amendment."""
    body = {
        **CONTRACT,
        "lines": [
            {"key": "platform", "product": "platform", "plan": "hybrid"},
            {"key": "seats", "product": "seats", "unit_price": "10.00", "quantity": "5"},
        ],
    }
    contract = finance.post("/api/v1/contracts", body, format="json").json()
    held = finance.post(f"/api/v1/contracts/{contract['id']}/activate").json()["approval"]
    assert [o["reasons"] for o in held["payload"]["overrides"]] == [["custom"]]  # seats: no plan, no list
    approver.post(f"/api/v1/approvals/{held['id']}/approve", {"comment": ""}, format="json")
    deep = {"effective_date": "2026-04-01", "changes": [{"line": "platform", "unit_price": "1.00"}]}
    approval = finance.post(f"/api/v1/contracts/{contract['id']}/amend", deep, format="json").json()[
        "approval"
    ]
    assert approval["payload"]["version"] == 1
    other = {"effective_date": "2026-03-01", "changes": [{"line": "seats", "quantity": "6"}]}
    assert finance.post(f"/api/v1/contracts/{contract['id']}/amend", other, format="json").status_code == 200
    stale = Approval.objects.get(pk=approval["id"])
    assert stale.status == "superseded"
    renewed = Approval.objects.get(kind="price_override", status="pending")
    assert renewed.supersedes_id == stale.pk and renewed.payload["version"] == 2
    assert renewed.payload["changes"] == deep["changes"]
    assert AuditEvent.objects.filter(action="approval.superseded", object_id=str(stale.pk)).exists()
    # the stale one can no longer be decided; the new one applies the amendment to version 2
    again = approver.post(f"/api/v1/approvals/{stale.pk}/approve", {"comment": ""}, format="json")
    assert again.status_code == 409
    # version 2's contract modification waits: the held amendment cannot apply before it is decided
    waiting = approver.post(f"/api/v1/approvals/{renewed.pk}/approve", {"comment": ""}, format="json")
    assert waiting.status_code == 409 and "waits for approval" in waiting.json()["detail"]
    modification = Approval.objects.get(kind="contract_modification", status="pending")
    approver.post(f"/api/v1/approvals/{modification.pk}/approve", {"comment": ""}, format="json")
    decided = approver.post(f"/api/v1/approvals/{renewed.pk}/approve", {"comment": ""}, format="json")
    assert decided.status_code == 200, decided.json()
    amended = Contract.objects.get(pk=contract["id"])
    assert amended.version == 3
    assert [ln.unit_price for ln in amended.lines.filter(key="platform").order_by("revision")] == [
        None,
        Decimal("1.00"),
    ]


def test_a_stale_override_that_no_longer_applies_is_only_voided(finance, approver):
    body = {**CONTRACT, "lines": [{"key": "platform", "product": "platform", "plan": "hybrid"}]}
    contract = finance.post("/api/v1/contracts", body, format="json").json()
    finance.post(f"/api/v1/contracts/{contract['id']}/activate")
    deep = {"effective_date": "2026-09-01", "changes": [{"line": "platform", "unit_price": "1.00"}]}
    approval = finance.post(f"/api/v1/contracts/{contract['id']}/amend", deep, format="json").json()[
        "approval"
    ]
    ended = finance.post(
        f"/api/v1/contracts/{contract['id']}/terminate", {"effective_date": "2026-06-01"}, format="json"
    )
    assert ended.status_code == 200, ended.json()
    assert Approval.objects.get(pk=approval["id"]).status == "superseded"
    assert not Approval.objects.filter(kind="price_override", status="pending").exists()


def test_ui_activation_waits_and_the_queue_shows_list_override_and_discount(
    catalog, ui_for, make_user, client
):
    from billing.contracts.services import contract_create

    CustomerFactory(external_id="acme")
    from django.db import transaction

    with transaction.atomic():
        contract = contract_create(
            customer="acme",
            currency="USD",
            start_date=date(2026, 1, 1),
            end_date=date(2027, 1, 1),
            lines=CONTRACT["lines"],
        )
    ui = ui_for("finance")
    response = ui.post(f"/contracts/{contract.pk}/activate/", {"confirm": "1"}, follow=True)
    assert response.status_code == 200
    assert b"waits for approval" in response.content
    contract.refresh_from_db()
    assert contract.status == "pending_approval"
    approval = Approval.objects.get(kind="price_override")

    client.force_login(make_user("checker", "approver"))
    queue = client.get("/approvals/?kind=price_override")
    text = queue.content.decode()
    assert "Price override" in text and "100.00" in text and "0.01" in text and "99.99%" in text
    client.post("/approvals/?kind=price_override", {"ids": [approval.pk], "action": "approve"})
    contract.refresh_from_db()
    assert contract.status == "active"


def test_ui_amendment_beyond_the_threshold_is_held(catalog, ui_for):
    contract = ContractFactory(lines=[{"key": "platform", "product": "platform", "plan": "hybrid"}])
    ui = ui_for("finance")
    line = contract.lines.get()
    response = ui.post(
        f"/contracts/{contract.pk}/amend/",
        {"effective_date": "2026-04-01", f"price-{line.key}": "0.01", f"q-{line.key}": ""},
        follow=True,
    )
    assert response.status_code == 200, response.content[:2000]
    assert b"waits for approval" in response.content
    contract.refresh_from_db()
    assert contract.version == 1 and contract.lines.count() == 1
    assert Approval.objects.get(kind="price_override").payload["action"] == "amend"


def test_the_control_flags_an_unapproved_override_and_not_an_approved_one(finance, approver):
    from compliance.checks.invoices import price_overrides_approved

    contract = finance.post("/api/v1/contracts", CONTRACT, format="json").json()
    approval = finance.post(f"/api/v1/contracts/{contract['id']}/activate").json()["approval"]
    approver.post(f"/api/v1/approvals/{approval['id']}/approve", {"comment": ""}, format="json")
    assert price_overrides_approved() == []
    Contract.objects.get(pk=contract["id"]).lines.update(unit_price=Decimal("0.02"))  # edited in the DB
    findings = price_overrides_approved()
    assert len(findings) == 1 and "0.02" in findings[0].explanation


def test_django_admin_is_no_way_around_the_override_approval(catalog, make_user, client):
    """Contracts (and so their line prices) are read-only in Django admin: the only ways to a price are
    the contract services, which hold a deep discount for approval."""
    contract = ContractFactory(lines=[{"key": "platform", "product": "platform", "plan": "hybrid"}])
    root = make_user("root", "admin")
    root.is_staff = root.is_superuser = True
    root.save()
    client.force_login(root)
    assert client.get("/admin/contracts/contract/").status_code == 200
    changed = client.post(f"/admin/contracts/contract/{contract.pk}/change/", {"status": "active"})
    assert changed.status_code == 403
    assert client.get("/admin/contracts/contractline/").status_code == 404  # not registered at all
    assert list(contract.lines.values_list("unit_price", flat=True)) == [None]
