"""F8: the ways around the price-override threshold found by the abuse test of main, each performed as
finance through the API (and the amend page): a plan-less custom price, a one-time line at 0.01, a
fractional quantity of a flat fee, an amendment cutting a line's quantity, an amendment adding a
plan-less line. Each now waits for a ``price_override`` approval, and the control
``price_overrides_approved`` (the same rule, billing.contracts.overrides.line_override) flags it when
it is written around the services."""

from datetime import date
from decimal import Decimal

import pytest

from billing.contracts.models import Contract
from billing.models import Invoice
from revops.core.approvals.models import Approval
from tests.billing.factories import ContractFactory
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# the "hybrid" plan of tests/builders.py: a flat platform fee of 100.00 a month, in advance
TERM = {"customer": "acme", "currency": "USD", "start_date": "2026-12-01", "end_date": "2027-12-01"}
TERM_START, TERM_END = date(2026, 12, 1), date(2027, 12, 1)
AT_LIST = {"key": "p", "product": "platform", "plan": "hybrid"}


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


def _activate(finance, lines):
    contract = finance.post("/api/v1/contracts", {**TERM, "lines": lines}, format="json")
    assert contract.status_code == 201, contract.json()
    return contract.json()["id"], finance.post(f"/api/v1/contracts/{contract.json()['id']}/activate")


def _held(response, reasons):
    assert response.status_code == 202, response.json()
    approval = response.json()["approval"]
    assert approval["kind"] == "price_override" and approval["status"] == "pending"
    assert [o["reasons"] for o in approval["payload"]["overrides"]] == [reasons]
    return approval


def _approve(approver, approval):
    decided = approver.post(f"/api/v1/approvals/{approval['id']}/approve", {"comment": "ok"}, format="json")
    assert decided.status_code == 200, decided.json()


def _unapproved_findings():
    from compliance.checks.invoices import price_overrides_approved

    return price_overrides_approved()


def test_b_a_plan_less_custom_price_waits_for_approval(finance, approver):
    contract_id, response = _activate(finance, [{"key": "z", "product": "platform", "unit_price": "0.01"}])
    approval = _held(response, ["custom"])
    override = approval["payload"]["overrides"][0]
    assert (override["plan"], override["list_price"], override["pays"]) == (None, None, "0.01")
    assert Contract.objects.get(pk=contract_id).status == "pending_approval"
    _approve(approver, approval)
    assert Contract.objects.get(pk=contract_id).status == "active"
    assert _unapproved_findings() == []


def test_c_a_one_time_line_compares_its_amount_with_the_plans_fee(finance):
    contract_id, response = _activate(
        finance,
        [{"key": "o", "product": "platform", "plan": "hybrid", "billing": "one_time", "amount": "0.01"}],
    )
    override = _held(response, ["list"])["payload"]["overrides"][0]
    assert (override["pays"], override["list_pays"], override["discount_pct"]) == ("0.01", "100", "99.99")
    assert Contract.objects.get(pk=contract_id).activated_at is None
    # Within the threshold it activates as before.
    _id, ok = _activate(
        finance,
        [{"key": "o", "product": "platform", "plan": "hybrid", "billing": "one_time", "amount": "80.00"}],
    )
    assert ok.status_code == 200 and ok.json()["status"] == "active"


def test_e_a_fractional_quantity_of_a_flat_fee_is_a_discount(finance, django_capture_on_commit_callbacks):
    """80.00 is within 20 % of the 100.00 list, but × 0.0001 the customer pays 0.008 a month."""
    contract_id, response = _activate(
        finance,
        [{"key": "p", "product": "platform", "plan": "hybrid", "unit_price": "80", "quantity": "0.0001"}],
    )
    override = _held(response, ["list"])["payload"]["overrides"][0]
    assert (override["list_pays"], override["discount_pct"]) == ("100", "99.99")
    with django_capture_on_commit_callbacks(execute=True):
        finance.post("/api/v1/billing-runs", {"as_of": "2027-01-01", "customers": ["acme"]}, format="json")
    assert not Invoice.objects.filter(contract_id=contract_id).exists()  # nothing billed while it waits


def test_a_usage_only_line_and_a_line_at_list_need_no_approval(finance):
    _id, response = _activate(
        finance, [{"key": "t", "product": "tokens", "plan": "tokens", "billing": "usage"}, AT_LIST]
    )
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert not Approval.objects.filter(kind="price_override").exists()


def test_amendment_cutting_the_quantity_of_a_flat_fee_is_held(finance, approver):
    contract_id, response = _activate(finance, [AT_LIST])
    assert response.status_code == 200
    before = Contract.objects.get(pk=contract_id).transaction_price
    change = {"effective_date": "2027-01-01", "changes": [{"line": "p", "quantity": "0.0001"}]}
    held = finance.post(f"/api/v1/contracts/{contract_id}/amend", change, format="json")
    approval = _held(held, ["list", "reduced"])
    contract = Contract.objects.get(pk=contract_id)
    assert (contract.version, contract.transaction_price) == (1, before)  # nothing applied
    _approve(approver, approval)
    assert Contract.objects.get(pk=contract_id).version == 2
    assert _unapproved_findings() == []


def test_amendment_cutting_what_a_line_pays_beyond_the_threshold_is_held_even_at_list(finance):
    """10 platform fees → 2 at list price: no discount off list, but the line pays 80 % less."""
    contract_id, response = _activate(finance, [{**AT_LIST, "quantity": "10"}])
    assert response.status_code == 200
    change = {"effective_date": "2027-01-01", "changes": [{"line": "p", "quantity": "2"}]}
    override = _held(
        finance.post(f"/api/v1/contracts/{contract_id}/amend", change, format="json"), ["reduced"]
    )["payload"]["overrides"][0]
    assert (override["previous_pays"], override["pays"], override["reduction_pct"]) == (
        "1000",
        "200",
        "80.00",
    )
    small = {"effective_date": "2027-01-01", "changes": [{"line": "p", "quantity": "9"}]}  # 10 % less: fine
    Approval.objects.filter(kind="price_override").update(status="rejected")
    assert finance.post(f"/api/v1/contracts/{contract_id}/amend", small, format="json").status_code == 200


def test_amendment_adding_a_plan_less_line_is_held(finance):
    contract_id, response = _activate(finance, [AT_LIST])
    assert response.status_code == 200
    change = {
        "effective_date": "2027-01-01",
        "changes": [{"add": {"key": "z", "product": "platform", "unit_price": "0.01"}}],
    }
    _held(finance.post(f"/api/v1/contracts/{contract_id}/amend", change, format="json"), ["custom"])
    contract = Contract.objects.get(pk=contract_id)
    assert contract.version == 1 and not contract.lines.filter(key="z").exists()


def test_ui_amendment_cutting_the_quantity_is_held(catalog, ui_for):
    contract = ContractFactory(lines=[AT_LIST], start_date=TERM_START, end_date=TERM_END)
    response = ui_for("finance").post(
        f"/contracts/{contract.pk}/amend/",
        {"effective_date": "2027-01-01", "price-p": "", "q-p": "0.0001"},
        follow=True,
    )
    assert response.status_code == 200, response.content[:2000]
    assert b"waits for approval" in response.content
    contract.refresh_from_db()
    assert contract.version == 1 and contract.lines.count() == 1
    assert Approval.objects.get(kind="price_override").payload["changes"][0]["quantity"] == "0.0001"


def test_the_control_flags_each_bypass_written_around_the_services(catalog):
    """The detective twin uses the same rule: lines written straight to the table are flagged."""
    from billing.contracts.models import ContractLine

    contract = ContractFactory(lines=[AT_LIST], start_date=TERM_START, end_date=TERM_END)
    assert _unapproved_findings() == []
    line = contract.lines.get()
    ContractLine.objects.filter(pk=line.pk).update(quantity=Decimal("0.0001"))  # fractional flat fee
    ContractLine.objects.create(
        contract=contract, key="z", revision=1, product=line.product, unit_price=Decimal("0.01"), position=2
    )  # plan-less custom price
    ContractLine.objects.create(
        contract=contract,
        key="o",
        revision=1,
        product=line.product,
        plan=line.plan,
        billing="one_time",
        amount=Decimal("0.01"),
        position=3,
    )  # one-time at 0.01
    findings = _unapproved_findings()
    assert sorted(f.details["reasons"][0] for f in findings) == ["custom", "list", "list"], findings
    assert len(findings) == 3
