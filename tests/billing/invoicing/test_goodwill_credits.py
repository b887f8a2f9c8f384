"""Issue 12.4: every credit grant is granted only once a second person approves it; a purchased one
names the payment that backs it (F7). A goodwill credit, and it posts Dr 4910
goodwill credits (contra revenue) / Cr 2300 prepaid credits — never Dr cash; only a purchased credit is
cash. The prepaid-credits tie-out still holds (a goodwill credit is a liability invoices draw down)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billing.models import CreditGrant
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from revrec.models import JournalEntry, JournalLine
from tests.billing.factories import ContractFactory
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

GOODWILL = {
    "kind": "goodwill",
    "amount": "100000.00",
    "granted_on": "2026-01-01",
    "reason": "Goodwill for the outage",
}


@pytest.fixture
def acme(catalog):
    customer = CustomerFactory(external_id="acme")
    ContractFactory(lines=[{"key": "platform", "product": "platform", "plan": "hybrid"}], customer=customer)
    return customer


def _grant_entry(grant):
    entry = JournalEntry.objects.get(source="credit_grant", source_id=str(grant.pk))
    return {(ln.account.code, ln.debit, ln.credit) for ln in entry.lines.select_related("account")}


def test_api_goodwill_grant_waits_for_approval_then_posts_to_contra_revenue(acme, api_for):
    finance, approver = api_for("finance"), api_for("approver")
    response = finance.post("/api/v1/customers/acme/credit-grants", GOODWILL, format="json")
    assert response.status_code == 202, response.json()
    approval = response.json()["approval"]
    assert approval["kind"] == "goodwill_credit" and approval["payload"]["amount"] == "100000.00"
    # The attack: nothing granted, nothing posted — least of all to cash.
    assert not CreditGrant.objects.exists()
    assert not JournalEntry.objects.filter(source="credit_grant").exists()
    assert not JournalLine.objects.filter(account__code="1000").exists()
    assert AuditEvent.objects.filter(action="credit_grant.goodwill_requested").count() == 1

    again = finance.post("/api/v1/customers/acme/credit-grants", GOODWILL, format="json")
    assert again.status_code == 409  # one goodwill request per customer at a time

    decided = approver.post(f"/api/v1/approvals/{approval['id']}/approve", {"comment": "ok"}, format="json")
    assert decided.status_code == 200, decided.json()
    grant = CreditGrant.objects.get()
    assert (grant.kind, grant.amount, grant.approval_id) == ("goodwill", Decimal("100000.00"), approval["id"])
    assert _grant_entry(grant) == {
        ("4910", Decimal("100000.00"), Decimal(0)),
        ("2300", Decimal(0), Decimal("100000.00")),
    }
    assert not JournalLine.objects.filter(account__code="1000").exists()
    created = AuditEvent.objects.get(action="credit_grant.created", object_id=str(grant.pk))
    assert created.changes["kind"] == "goodwill" and created.changes["approval"] == approval["id"]
    listed = finance.get("/api/v1/customers/acme/credit-grants").json()["results"]
    assert [(g["kind"], g["amount"], g["approval"]) for g in listed] == [
        ("goodwill", "100000.00", approval["id"])
    ]


ATTACK = {
    "kind": "purchased",
    "amount": "100000.00",
    "granted_on": "2026-12-07",
    "reason": "goodwill, booked as purchased",
}


def test_api_goodwill_booked_as_purchased_is_refused_without_a_payment_and_never_posts_cash(acme, api_for):
    """F7: finance books a 'goodwill' credit as purchased to skip approval and post Dr Cash."""
    finance = api_for("finance")
    response = finance.post("/api/v1/customers/acme/credit-grants", ATTACK, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["field"] == "payment_reference"
    assert not CreditGrant.objects.exists()
    assert not Approval.objects.filter(kind="purchased_credit").exists()
    assert not JournalLine.objects.filter(account__code="1000").exists()


def test_api_purchased_grant_waits_for_an_approver_who_sees_the_payment_then_is_cash(acme, api_for):
    """F7: even with a payment reference, a purchased credit is granted (and posts Dr Cash) only once
    an approver other than the requester approved it; the requester cannot approve it."""
    finance, approver = api_for("finance"), api_for("approver")
    body = {**ATTACK, "reason": "Prepaid commit", "payment_reference": "WIRE-2026-12-07-001"}
    response = finance.post("/api/v1/customers/acme/credit-grants", body, format="json")
    assert response.status_code == 202, response.json()
    approval = response.json()["approval"]
    assert approval["kind"] == "purchased_credit"
    assert approval["payload"]["payment_reference"] == "WIRE-2026-12-07-001"
    assert approval["payload"]["posting"]["debit"] == "1000 Cash"
    assert not CreditGrant.objects.exists()
    assert not JournalLine.objects.filter(account__code="1000").exists()
    assert finance.post("/api/v1/customers/acme/credit-grants", body, format="json").status_code == 409
    own = finance.post(f"/api/v1/approvals/{approval['id']}/approve", {"comment": "ok"}, format="json")
    assert own.status_code == 403 and not CreditGrant.objects.exists()

    decided = approver.post(
        f"/api/v1/approvals/{approval['id']}/approve", {"comment": "wire seen"}, format="json"
    )
    assert decided.status_code == 200, decided.json()
    grant = CreditGrant.objects.get()
    assert (grant.kind, grant.payment_reference, grant.approval_id) == (
        "purchased",
        "WIRE-2026-12-07-001",
        approval["id"],
    )
    assert _grant_entry(grant) == {
        ("1000", Decimal("100000.00"), Decimal(0)),
        ("2300", Decimal(0), Decimal("100000.00")),
    }
    listed = finance.get("/api/v1/customers/acme/credit-grants").json()["results"]
    assert listed[0]["payment_reference"] == "WIRE-2026-12-07-001"
    # The same payment cannot back a second purchased credit.
    again = finance.post("/api/v1/customers/acme/credit-grants", body, format="json")
    assert again.status_code == 400 and again.json()["errors"][0]["field"] == "payment_reference"


def test_the_service_refuses_a_purchased_grant_without_an_approval(acme):
    from billing.invoicing.credits import credit_grant_create
    from revops.errors import Conflict

    with pytest.raises(Conflict), transaction.atomic():
        credit_grant_create(
            customer=acme, amount="100000.00", granted_on=date(2026, 1, 1), payment_reference="WIRE-1"
        )
    assert not CreditGrant.objects.exists()


def test_ui_purchased_grant_needs_a_payment_and_waits_for_an_approver(acme, ui_for, make_user, client):
    ui = ui_for("finance")
    form = {"kind": "purchased", "amount": "100000.00", "granted_on": "2026-12-07", "reason": "goodwill"}
    refused = ui.post(f"/customers/{acme.pk}/credits/", form)
    assert refused.status_code == 400
    assert "name the payment or receipt that backs it" in refused.content.decode()
    response = ui.post(
        f"/customers/{acme.pk}/credits/", {**form, "payment_reference": "WIRE-77"}, follow=True
    )
    assert b"nothing is granted until an approver" in response.content
    assert not CreditGrant.objects.exists()
    assert not JournalLine.objects.filter(account__code="1000").exists()
    approval = Approval.objects.get(kind="purchased_credit")
    client.force_login(make_user("checker", "approver"))
    queue = client.get("/approvals/?kind=purchased_credit").content.decode()
    assert "WIRE-77" in queue and "1000 Cash" in queue
    client.post("/approvals/", {"ids": [approval.pk], "action": "approve"})
    grant = CreditGrant.objects.get()
    assert (grant.kind, grant.payment_reference) == ("purchased", "WIRE-77")


def test_api_grant_validation(acme, api_for):
    finance = api_for("finance")
    bad = finance.post(
        "/api/v1/customers/acme/credit-grants",
        {**GOODWILL, "amount": "-5", "expires_on": "2025-01-01"},
        format="json",
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} >= {"amount"}
    no_reason = finance.post(
        "/api/v1/customers/acme/credit-grants", {**GOODWILL, "reason": ""}, format="json"
    )
    assert no_reason.status_code == 400 and no_reason.json()["errors"][0]["field"] == "reason"
    assert finance.post("/api/v1/customers/nobody/credit-grants", GOODWILL, format="json").status_code == 404
    assert not Approval.objects.filter(kind="goodwill_credit").exists()


def test_the_service_refuses_a_goodwill_grant_without_an_approval(acme):
    from billing.invoicing.credits import credit_grant_create
    from revops.errors import Conflict

    with pytest.raises(Conflict), transaction.atomic():
        credit_grant_create(customer=acme, amount="100000.00", granted_on=date(2026, 1, 1), kind="goodwill")
    assert not CreditGrant.objects.exists()


def test_ui_goodwill_grant_waits_for_an_approver(acme, ui_for, make_user, client):
    ui = ui_for("finance")
    response = ui.post(
        f"/customers/{acme.pk}/credits/",
        {"kind": "goodwill", "amount": "100000.00", "granted_on": "2026-01-01", "reason": "goodwill"},
        follow=True,
    )
    assert response.status_code == 200
    assert b"nothing is granted until an approver" in response.content
    assert not CreditGrant.objects.exists()
    approval = Approval.objects.get(kind="goodwill_credit")
    client.force_login(make_user("checker", "approver"))
    queue = client.get("/approvals/?kind=goodwill_credit").content.decode()
    assert "100000.00" in queue and "4910" in queue
    client.post("/approvals/", {"ids": [approval.pk], "action": "approve"})
    grant = CreditGrant.objects.get()
    assert grant.kind == "goodwill"
    assert ("4910", Decimal("100000.00"), Decimal(0)) in _grant_entry(grant)


def test_goodwill_drawn_and_expired_ties_out_and_reverses_the_unused_concession(acme, api_for):
    from billing.invoicing.build import invoice_build
    from billing.invoicing.credits import credits_expire
    from billing.invoicing.lifecycle import invoice_finalize
    from compliance.checks.ledger import prepaid_credits_tie_out
    from tests.builders import NOW

    finance, approver = api_for("finance"), api_for("approver")
    body = {**GOODWILL, "amount": "150.00", "expires_on": "2026-03-01"}
    approval = finance.post("/api/v1/customers/acme/credit-grants", body, format="json").json()["approval"]
    approver.post(f"/api/v1/approvals/{approval['id']}/approve", {"comment": ""}, format="json")
    grant = CreditGrant.objects.get()
    contract = acme.contracts.get()
    with transaction.atomic():
        invoice = invoice_build(contract_id=contract.pk, billing_date=date(2026, 1, 1), now=NOW)
        invoice = invoice_finalize(invoice=invoice, now=NOW, issue_date=date(2026, 1, 2))
    assert invoice.credits_applied == Decimal("100.00")  # the 100.00 platform fee, no tax
    (expiry,) = credits_expire(on=date(2026, 3, 1))
    assert expiry.amount == Decimal("50.00")
    entry = JournalEntry.objects.get(source="credit_expiry", source_id=str(expiry.pk))
    lines = {(ln.account.code, ln.debit, ln.credit) for ln in entry.lines.select_related("account")}
    assert lines == {("2300", Decimal("50.00"), Decimal(0)), ("4910", Decimal(0), Decimal("50.00"))}
    assert prepaid_credits_tie_out() == []
    goodwill = JournalLine.objects.filter(account__code="4910")
    net = sum(ln.debit - ln.credit for ln in goodwill)
    assert net == Decimal("100.00")  # the contra revenue is what the customer actually used
    assert grant.expiries.count() == 1
