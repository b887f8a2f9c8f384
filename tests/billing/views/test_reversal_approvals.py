"""A credit note and the void of a finalized invoice move revenue, so one person only asks for them
(maker-checker, revops.core.approvals): the API answers 202 with the pending request and what approving
applies; nothing is numbered, issued, posted or published until an approver other than the requester
approves — in the API, the queue or the Django admin. A second request for the same invoice is 409; the
invoice changing behind the request voids it; what moved meanwhile (a payment, another credit) is
re-validated when approving: 409, nothing applied. The requester can withdraw. Voiding a draft is not a
request."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory

from billing.invoicing import reversals
from billing.invoicing.lifecycle import credit_note_create, payment_record
from billing.models import CreditNote, Invoice, InvoiceLine
from revops.core.admin import ApprovalAdmin
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from revops.core.models import OutboxEvent
from tests.billing.views.conftest import build, finalize

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(monthly):
    return finalize(build(monthly, date(2026, 4, 1)))  # 10.00 + 10 % tax = 11.00, INV-…


def _credit(client, invoice, amount="4.00", reason="SLA breach"):
    line = invoice.lines.get()
    body = {"invoice": invoice.pk, "reason": reason, "lines": [{"invoice_line": line.pk, "amount": amount}]}
    return client.post("/api/v1/credit-notes", body, format="json")


def _published(topic):
    return OutboxEvent.objects.filter(topic=topic).count()


def test_api_credit_note_is_a_request_until_a_second_person_approves(invoice, api_for):
    finance, approver = api_for("finance", "fin-maker"), api_for("approver", "checker")
    asked = _credit(finance, invoice)
    assert asked.status_code == 202, asked.json()
    body = asked.json()
    approval = body["approval"]
    assert (approval["kind"], approval["status"]) == ("credit_note", "pending") and approval["id"]
    p = approval["payload"]
    assert (p["invoice_number"], p["customer"], p["currency"]) == (invoice.number, "northwind", "USD")
    assert (p["subtotal"], p["tax"], p["total"]) == ("4.00", "0.40", "4.40")
    assert p["lines"][0]["creditable_before"] == "10.00" and p["lines"][0]["creditable_after"] == "6.00"
    assert "contra revenue" in p["revenue_effect"] and "approv" in body["detail"]
    # The attack: nothing issued, numbered, published, credited.
    assert not CreditNote.objects.exists() and _published("credit_note.issued") == 0
    assert Invoice.objects.get(pk=invoice.pk).amount_credited == 0

    again = _credit(finance, invoice, amount="1.00")
    assert again.status_code == 409 and f"#{approval['id']}" in again.json()["detail"]
    void_too = finance.post(f"/api/v1/invoices/{invoice.pk}/void", {"reason": "x"}, format="json")
    assert void_too.status_code == 409  # one pending reversal per invoice

    own = finance.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
    assert own.status_code == 403  # finance never decides

    done = approver.post(f"/api/v1/approvals/{approval['id']}/approve", {"comment": "ok"}, format="json")
    assert done.status_code == 200, done.json()
    note = CreditNote.objects.get()
    assert (note.total, note.tax, note.created_by.username) == (Decimal("4.40"), Decimal("0.40"), "fin-maker")
    assert note.number and _published("credit_note.issued") == 1
    issued = AuditEvent.objects.get(action="credit_note.issued")
    assert issued.changes["approval"] == approval["id"]
    assert Invoice.objects.get(pk=invoice.pk).amount_credited == Decimal("4.40")


def test_an_approver_who_asked_cannot_approve_their_own_credit_note_anywhere(invoice, api_for, make_user):
    from django.contrib.auth import get_user_model

    asker = api_for("approver", "asking-approver")  # a requester who also holds the approver role
    user = get_user_model().objects.get(username="asking-approver")
    line = invoice.lines.get()
    asked = reversals.credit_note_request(
        invoice=invoice, lines=[{"invoice_line": line.pk, "amount": "4.00"}], reason="SLA", actor=user
    )
    approval = {"id": asked.pk}
    for client in (asker, api_for("approver", "asking-approver")):  # any token of theirs
        refused = client.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
        assert refused.status_code == 409 and refused.json()["type"].endswith("self-approval")

    ui = Client()
    ui.force_login(Approval.objects.get(pk=approval["id"]).requested_by)
    page = ui.post("/approvals/", {"ids": approval["id"], "action": "approve"})
    assert page.status_code == 409 and "You requested this" in page.content.decode()

    request = RequestFactory().post("/admin/core/approval/")
    request.user = Approval.objects.get(pk=approval["id"]).requested_by
    shown = []
    admin = ApprovalAdmin(Approval, site)
    admin.message_user = lambda request, text, level=None: shown.append(text)
    admin.approve(request, Approval.objects.filter(pk=approval["id"]))
    assert "You requested this" in shown[0]
    assert not CreditNote.objects.exists() and Approval.objects.get(pk=approval["id"]).status == "pending"


def test_an_approver_whose_password_the_requester_set_cannot_decide(invoice, api_for, make_user):
    from revops.core.approvals.services import SelfApproval, approval_decide
    from revops.core.models import UserOrigin

    maker = make_user("maker", "finance")
    checker = make_user("puppet", "approver")
    UserOrigin.objects.update_or_create(user=checker, defaults={"password_set_by": maker})
    approval = reversals.credit_note_request(
        invoice=invoice,
        lines=[{"invoice_line": invoice.lines.get().pk, "amount": "4.00"}],
        reason="SLA",
        actor=maker,
    )
    with pytest.raises(SelfApproval):
        approval_decide(approval=approval, user=checker, approve=True)
    assert not CreditNote.objects.exists()


def test_api_void_of_a_finalized_invoice_waits_and_a_draft_void_is_not_a_request(invoice, monthly, api_for):
    finance, approver = api_for("finance"), api_for("approver")
    asked = finance.post(f"/api/v1/invoices/{invoice.pk}/void", {"reason": "Wrong entity"}, format="json")
    assert asked.status_code == 202, asked.json()
    approval = asked.json()["approval"]
    assert approval["kind"] == "invoice_void" and approval["payload"]["invoice_total"] == "11.00"
    assert "Reverses the invoice's whole posting" in approval["payload"]["revenue_effect"]
    assert Invoice.objects.get(pk=invoice.pk).status == "finalized" and _published("invoice.voided") == 0
    done = approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
    assert done.status_code == 200, done.json()
    voided = Invoice.objects.get(pk=invoice.pk)
    assert (voided.status, voided.void_reason) == ("void", "Wrong entity")
    assert _published("invoice.voided") == 1
    assert AuditEvent.objects.get(action="invoice.voided").changes["approval"] == approval["id"]
    # A draft: no number, nothing posted — not a request (refused as before: only finalized void).
    draft = build(monthly, date(2026, 5, 1))
    refused = finance.post(f"/api/v1/invoices/{draft.pk}/void", {}, format="json")
    assert (
        refused.status_code == 409
        and not Approval.objects.filter(kind__in=reversals.KINDS, object_id=str(draft.pk)).exists()
    )


def test_a_payment_meanwhile_refuses_the_void_at_approval_with_nothing_applied(invoice, api_for):
    finance, approver = api_for("finance"), api_for("approver")
    approval = finance.post(f"/api/v1/invoices/{invoice.pk}/void", {"reason": "x"}, format="json").json()[
        "approval"
    ]
    payment_record(invoice=invoice, amount="5.00", paid_on=date(2026, 4, 20))
    refused = approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
    assert refused.status_code == 409 and "can no longer be voided" in refused.json()["detail"]
    assert Invoice.objects.get(pk=invoice.pk).status == "finalized"
    assert Approval.objects.get(pk=approval["id"]).status == "pending" and _published("invoice.voided") == 0


def test_a_credit_meanwhile_refuses_the_credit_note_at_approval(invoice, api_for):
    finance, approver = api_for("finance"), api_for("approver")
    approval = _credit(finance, invoice, amount="8.00").json()["approval"]
    line = invoice.lines.get()
    credit_note_create(invoice=invoice, lines=[{"invoice_line": line.pk, "amount": "5.00"}], reason="x")
    refused = approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
    assert refused.status_code == 409 and "nothing was issued" in refused.json()["detail"]
    assert CreditNote.objects.count() == 1 and Approval.objects.get(pk=approval["id"]).status == "pending"


def test_changing_the_invoice_after_the_request_voids_it(invoice, api_for):
    finance, approver = api_for("finance"), api_for("approver")
    approval = _credit(finance, invoice).json()["approval"]
    InvoiceLine.objects.filter(invoice=invoice).update(amount=Decimal("1000.00"))  # behind the services
    refused = approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
    assert refused.status_code == 409 and refused.json()["type"].endswith("approval-content-changed")
    assert Approval.objects.get(pk=approval["id"]).status == "superseded"
    assert not CreditNote.objects.exists()


def test_the_requester_withdraws_and_may_then_ask_again(invoice, api_for):
    finance = api_for("finance")
    approval = _credit(finance, invoice).json()["approval"]
    done = finance.post(f"/api/v1/approvals/{approval['id']}/withdraw", {"reason": "typo"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    assert _credit(finance, invoice, amount="3.00").status_code == 202
    assert not CreditNote.objects.exists()


def test_ui_credit_note_and_void_ask_and_the_queue_shows_the_business_terms(invoice, finance, make_user):
    line = invoice.lines.get()
    wanted = {f"line_{line.pk}": "4.00", "reason": "SLA"}
    asked = finance.post(f"/invoices/{invoice.pk}/credit-note/", wanted).content.decode()
    assert "Ask for a credit note" in asked and "needs a second person" in asked
    response = finance.post(f"/invoices/{invoice.pk}/credit-note/", {**wanted, "confirm": "1"})
    assert response.status_code == 302 and not CreditNote.objects.exists()
    page = finance.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Waiting for approval" in page
    refused = finance.post(f"/invoices/{invoice.pk}/void/", {"reason": "Wrong"})
    assert refused.status_code == 400 and "already waits for approval" in refused.content.decode()

    checker = Client()
    checker.force_login(make_user("checker", "approver"))
    queue = checker.get("/approvals/?kind=credit_note").content.decode()
    for shown in ("Northwind Traders", invoice.number, "4.40 USD", "10.00 → 6.00", "contra revenue"):
        assert shown in queue, shown
